"""The OpenAI chat dialect: every place a chat body can carry text is scanned (one row per
slot kind), shapes it cannot read are refused, and nothing else is touched."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .conftest import PROXY_KEY, VENDOR_KEY, RunningProxy
from .mock_vendor import MockVendor

EMAIL = "peter@dailybugle.com"
USER = {"role": "user", "content": "hello"}


def _call(arguments: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}],
    }


def _tool(description: str = "t", parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "f", "description": description, "parameters": parameters or {}}}


SLOT_KINDS: dict[str, dict[str, Any]] = {
    "system message": {"messages": [{"role": "system", "content": f"Mail {EMAIL}"}, USER]},
    "developer message": {"messages": [{"role": "developer", "content": f"Mail {EMAIL}"}, USER]},
    "user text part": {"messages": [{"role": "user", "content": [{"type": "text", "text": f"Mail {EMAIL}"}]}]},
    "assistant refusal part": {"messages": [{"role": "assistant", "content": [{"type": "refusal", "refusal": EMAIL}]}, USER]},
    "assistant refusal field": {"messages": [{"role": "assistant", "content": None, "refusal": EMAIL}, USER]},
    "unknown part type": {"messages": [{"role": "user", "content": [{"type": "future", "words": {"x": EMAIL}}]}]},
    "file part filename": {"messages": [{"role": "user", "content": [{"type": "file", "file": {"filename": f"notes for {EMAIL} .pdf", "file_data": "AAAA"}}]}]},
    "message name": {"messages": [{"role": "user", "name": "Peter Parker", "content": "hi"}]},
    "tool result": {"messages": [USER, _call("{}"), {"role": "tool", "tool_call_id": "c1", "content": f"Mail {EMAIL}"}]},
    "tool-call argument value": {"messages": [USER, _call(json.dumps({"to": EMAIL}))]},
    "tool-call argument key": {"messages": [USER, _call(json.dumps({EMAIL: True}))]},
    "tool-call argument number": {"messages": [USER, _call('{"card": 4111111111111111}')]},
    "tool-call arguments with a repeated key": {"messages": [USER, _call(f'{{"to": "{EMAIL}", "to": "x"}}')]},
    "tool-call arguments that are not JSON": {"messages": [USER, _call(f"to={EMAIL}")]},
    "legacy function_call": {"messages": [USER, {"role": "assistant", "function_call": {"name": "f", "arguments": json.dumps({"to": EMAIL})}}]},
    "tool description": {"messages": [USER], "tools": [_tool(description=f"Mails {EMAIL}")]},
    "tool parameter description": {"messages": [USER], "tools": [_tool(parameters={"type": "object", "properties": {"to": {"type": "string", "description": f"e.g. {EMAIL}"}}})]},
    "tool parameter enum": {"messages": [USER], "tools": [_tool(parameters={"type": "string", "enum": [EMAIL]})]},
    "legacy functions": {"messages": [USER], "functions": [{"name": "f", "description": f"Mails {EMAIL}"}]},
    "user field": {"messages": [USER], "user": EMAIL},
    "metadata": {"messages": [USER], "metadata": {"customer": EMAIL}},
    "prediction": {"messages": [USER], "prediction": {"type": "content", "content": f"Dear {EMAIL}"}},
    "response_format schema": {"messages": [USER], "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object", "description": f"for {EMAIL}"}}}},
}  # fmt: skip
SECRETS = [EMAIL, "Peter Parker", "4111111111111111"]


def _post(proxy: RunningProxy, body: dict[str, Any] | bytes, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps({"model": "gpt-4o", **body}).encode()
    all_headers = {"authorization": f"Bearer {PROXY_KEY}", "content-type": "application/json", **headers}
    return httpx.post(proxy.url + "/v1/chat/completions", content=content, headers=all_headers, timeout=30)


@pytest.mark.parametrize("kind", SLOT_KINDS)
def test_no_value_reaches_the_vendor_from_any_slot(proxy: RunningProxy, vendor: MockVendor, kind: str) -> None:
    vendor.script.reply = "ok"
    response = _post(proxy, SLOT_KINDS[kind])
    if response.headers["x-proxy-decision"] == "block":  # the card number: found, and the policy blocks cards
        assert response.status_code == 400 and vendor.received == []
        return
    assert response.status_code == 200, response.text
    raw = vendor.received[-1].raw.decode()
    for secret in SECRETS:
        assert secret not in raw, f"{kind}: {secret} reached the vendor"
    assert response.headers["x-proxy-decision"] == "transform"


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "Mail peter@dailybugle.com"}], "messages": [{"role": "user", "content": "hi"}]}',
        json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": ["Peter Parker"]}]}).encode(),
        json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": {"text": "Peter Parker"}}]}).encode(),
        json.dumps({"model": "gpt-4o", "messages": [USER], "tools": "Peter Parker"}).encode(),
        json.dumps({"model": "gpt-4o", "messages": ["Peter Parker"]}).encode(),
    ],
    ids=["duplicate key", "content list of strings", "content object", "tools not a list", "message not an object"],
)
def test_shapes_the_proxy_cannot_read_are_refused_not_forwarded(
    proxy: RunningProxy, vendor: MockVendor, body: bytes
) -> None:
    response = _post(proxy, body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "Peter" not in response.text and "peter" not in response.text
    assert vendor.received == []


def test_overlapping_findings_leave_no_fragment_of_either(proxy: RunningProxy, vendor: MockVendor) -> None:
    _post(proxy, {"messages": [{"role": "user", "content": "Write to john.bluebird@acme.com today"}]})
    sent = vendor.last["messages"][0]["content"]
    assert "bluebird" not in sent.lower() and "john" not in sent and "acme" not in sent
    assert sent.startswith("Write to <") and sent.endswith("> today")


def test_only_safe_client_headers_reach_the_vendor(proxy: RunningProxy, vendor: MockVendor) -> None:
    headers = {
        "OpenAI-Organization": "org-client",
        "OpenAI-Project": "proj-client",
        "X-Forwarded-For": "203.0.113.9",
        "Cookie": "session=abc",
        "Proxy-Authorization": "Basic Y2xpZW50OnNlY3JldA==",
        "Keep-Alive": "timeout=5",
        "X-Stainless-OS": "Linux",
        "X-Proxy-Subject": "user-1",
        "OpenAI-Beta": "assistants=v2",
    }
    response = _post(proxy, {"messages": [USER]}, **headers)
    assert VENDOR_KEY not in response.text and VENDOR_KEY not in str(response.headers)
    assert vendor.received[-1].headers["authorization"] == f"Bearer {VENDOR_KEY}"
    sent = {k.lower() for k in vendor.received[-1].headers}
    assert not sent & {
        "openai-organization",
        "openai-project",
        "x-forwarded-for",
        "cookie",
        "proxy-authorization",
        "keep-alive",
        "x-stainless-os",
        "x-proxy-subject",
    }
    assert vendor.received[-1].headers["openai-beta"] == "assistants=v2"


def test_unknown_paths_answer_in_openai_shape(proxy: RunningProxy) -> None:
    response = httpx.get(proxy.url + "/v1/no-such-thing?email=peter@dailybugle.com")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found" and "peter" not in response.text


def test_models_needs_a_proxy_key(proxy: RunningProxy) -> None:
    assert httpx.get(proxy.url + "/v1/models").status_code == 401
    assert httpx.get(proxy.url + "/v1/models", headers={"authorization": f"Bearer {PROXY_KEY}"}).status_code == 200
