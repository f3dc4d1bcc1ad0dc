"""Anthropic Messages end to end: the official `anthropic` SDK → proxy → mock vendor."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import pytest

from .conftest import PROXY_KEY, VENDOR_KEY, RunningProxy
from .mock_vendor import MockVendor

MODEL = "claude-proxy-test"  # not a real model: the SDK warns about deprecated real ones
EMAIL = "peter@dailybugle.com"


def test_messages_are_pseudonymized_for_the_vendor_and_restored(proxy: RunningProxy, vendor: MockVendor) -> None:
    raw = proxy.anthropic().messages.with_raw_response.create(
        model=MODEL,
        max_tokens=100,
        system="You help Peter Parker.",
        messages=[{"role": "user", "content": f"Write to Peter Parker at {EMAIL}"}],
    )
    message = raw.parse()
    sent = vendor.last
    assert sent["system"] == "You help <PERSON_1>."
    assert sent["messages"][0]["content"] == "Write to <PERSON_1> at <EMAIL_ADDRESS_1>"
    assert message.content[0].text == f"Write to Peter Parker at {EMAIL}"  # type: ignore[union-attr]
    assert raw.headers["x-proxy-decision"] == "transform"
    headers = vendor.received[-1].headers
    assert headers["x-api-key"] == VENDOR_KEY and PROXY_KEY not in json.dumps(headers)
    assert headers["anthropic-version"]
    record = proxy.record(raw.headers["x-proxy-request-id"])
    assert record.request["endpoint"] == "anthropic-messages" and record.request["total_tokens"] == 18


def test_stream_is_restored_and_no_placeholder_fragment_leaks(proxy: RunningProxy, vendor: MockVendor) -> None:
    vendor.script.chunk_chars = 3
    with proxy.anthropic().messages.stream(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Call Peter Parker today."}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == "Call Peter Parker today."
    assert not any("<" in piece or ">" in piece for piece in pieces)
    assert final.content[0].text == "Call Peter Parker today."  # type: ignore[union-attr]
    assert vendor.last["messages"][0]["content"] == "Call <PERSON_1> today."


@pytest.mark.parametrize("stream", [False, True])
def test_tool_use_round_trip_restores_the_tool_input(proxy: RunningProxy, vendor: MockVendor, stream: bool) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "Who is the customer?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "crm", "input": {"q": "last"}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": f"Peter Parker, {EMAIL}"}],
        },
    ]
    vendor.script.tool_calls = [
        {"name": "send_mail", "arguments": json.dumps({"to": "<EMAIL_ADDRESS_1>", "name": "<PERSON_1>"})}
    ]
    vendor.script.chunk_chars = 4
    client = proxy.anthropic()
    tools: list[Any] = [{"name": "send_mail", "description": "Sends mail", "input_schema": {"type": "object"}}]
    if stream:
        with client.messages.stream(model=MODEL, max_tokens=100, messages=messages, tools=tools) as events:
            final = events.get_final_message()
    else:
        final = client.messages.create(model=MODEL, max_tokens=100, messages=messages, tools=tools)
    assert vendor.last["messages"][2]["content"][0]["content"] == "<PERSON_1>, <EMAIL_ADDRESS_1>"
    assert final.content[0].input == {"to": EMAIL, "name": "Peter Parker"}  # type: ignore[union-attr]


def _tool_use(value: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": value}]}


USER = {"role": "user", "content": "hello"}
SLOT_KINDS: dict[str, dict[str, Any]] = {
    "system blocks": {"system": [{"type": "text", "text": f"Mail {EMAIL}"}], "messages": [USER]},
    "text block": {"messages": [{"role": "user", "content": [{"type": "text", "text": f"Mail {EMAIL}"}]}]},
    "tool_use input value": {"messages": [USER, _tool_use({"to": EMAIL}), USER]},
    "tool_use input key": {"messages": [USER, _tool_use({EMAIL: True}), USER]},
    "tool_result blocks": {"messages": [USER, _tool_use({}), {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": EMAIL}]}]}]},
    "tool description": {"messages": [USER], "tools": [{"name": "f", "description": f"Mails {EMAIL}", "input_schema": {"type": "object"}}]},
    "tool input_schema": {"messages": [USER], "tools": [{"name": "f", "input_schema": {"type": "object", "properties": {"to": {"type": "string", "description": EMAIL}}}}]},
    "document title": {"messages": [{"role": "user", "content": [{"type": "document", "title": f"CV of {EMAIL}", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}]}]},
    "metadata": {"messages": [USER], "metadata": {"user_id": EMAIL}},
}  # fmt: skip


@pytest.mark.parametrize("kind", SLOT_KINDS)
def test_no_value_reaches_the_vendor_from_any_slot(proxy: RunningProxy, vendor: MockVendor, kind: str) -> None:
    vendor.script.reply = "ok"
    body = {"model": MODEL, "max_tokens": 10, **SLOT_KINDS[kind]}
    response = httpx.post(
        proxy.url + "/v1/messages", json=body, headers={"x-api-key": PROXY_KEY, "anthropic-version": "2023-06-01"}
    )
    assert response.status_code == 200, response.text
    assert EMAIL not in vendor.received[-1].raw.decode(), kind


def test_a_blocked_request_gets_an_anthropic_shaped_error(proxy: RunningProxy, vendor: MockVendor) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        proxy.anthropic().messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "card 4111 1111 1111 1111"}]
        )
    body = caught.value.response.json()
    assert body["type"] == "error" and body["error"]["type"] == "policy_violation"
    assert "4111" not in caught.value.response.text and vendor.received == []


def test_a_wrong_key_is_an_anthropic_authentication_error(proxy: RunningProxy) -> None:
    with anthropic.Anthropic(base_url=proxy.url, api_key="nope", max_retries=0) as client:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.response.json()["error"]["type"] == "authentication_error"


def test_echo_speaks_anthropic_too(proxy: RunningProxy) -> None:
    message = proxy.anthropic().messages.create(
        model="echo", max_tokens=10, messages=[{"role": "user", "content": "Hi, I am Peter Parker"}]
    )
    assert message.content[0].text == "Hi, I am Peter Parker"  # type: ignore[union-attr]


def test_the_anthropic_sdk_can_list_models(proxy: RunningProxy) -> None:
    listed = [model.id for model in proxy.anthropic().models.list()]
    assert listed == [
        "gpt-4o",
        "gpt-4o-mini",
        "text-embedding-3-small",
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
        "echo",
    ]
