"""One table across every surface: wherever a client can put text, no value reaches the vendor,
and fields the proxy does not know reach the vendor untouched. Adding a surface adds rows here."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from proxy.dialects import ANSWERS, DIALECTS, READERS, STREAMS, Answers, Streams

from .conftest import PROXY_KEY, RunningProxy
from .mock_vendor import MockVendor

EMAIL = "peter@dailybugle.com"
TEXT = f"Please mail {EMAIL} today"
SCHEMA = {"type": "object", "properties": {"to": {"type": "string", "description": f"like {EMAIL}"}}}
CHAT, RESPONSES, ANTHROPIC = "/v1/chat/completions", "/v1/responses", "/v1/messages"
COMPLETIONS, EMBEDDINGS, COUNT_TOKENS = "/v1/completions", "/v1/embeddings", "/v1/messages/count_tokens"

ROWS: list[tuple[str, str, dict[str, Any]]] = [
    (CHAT, "user message", {"messages": [{"role": "user", "content": TEXT}]}),
    (CHAT, "system message", {"messages": [{"role": "system", "content": TEXT}, {"role": "user", "content": "hi"}]}),
    (CHAT, "tool-call arguments in history", {"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": json.dumps({"to": EMAIL})}}]}, {"role": "tool", "tool_call_id": "c", "content": "done"}]}),
    (CHAT, "tool result", {"messages": [{"role": "tool", "tool_call_id": "c", "content": TEXT}]}),
    (CHAT, "tool definition", {"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": SCHEMA}}]}),
    (RESPONSES, "input string", {"input": TEXT}),
    (RESPONSES, "instructions", {"input": "hi", "instructions": TEXT}),
    (RESPONSES, "input_text part", {"input": [{"role": "user", "content": [{"type": "input_text", "text": TEXT}]}]}),
    (RESPONSES, "function_call arguments", {"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": json.dumps({"to": EMAIL})}, {"type": "function_call_output", "call_id": "c", "output": "ok"}]}),
    (RESPONSES, "function_call_output", {"input": [{"type": "function_call_output", "call_id": "c", "output": TEXT}]}),
    (RESPONSES, "tool definition", {"input": "hi", "tools": [{"type": "function", "name": "f", "description": TEXT, "parameters": SCHEMA}]}),
    (ANTHROPIC, "user message", {"max_tokens": 5, "messages": [{"role": "user", "content": TEXT}]}),
    (ANTHROPIC, "system", {"max_tokens": 5, "system": TEXT, "messages": [{"role": "user", "content": "hi"}]}),
    (ANTHROPIC, "tool_use input in history", {"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {"to": EMAIL}}]}, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}]}),
    (ANTHROPIC, "tool_result", {"max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": TEXT}]}]}),
    (ANTHROPIC, "tool definition", {"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "tools": [{"name": "f", "input_schema": SCHEMA}]}),
    (ANTHROPIC, "plain-text document", {"max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": TEXT}}]}]}),
    (CHAT, "a parameter added after this release", {"messages": [{"role": "user", "content": "hi"}], "x_new_field": {"note": TEXT}}),
    (CHAT, "custom tool call input", {"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "custom", "custom": {"name": "f", "input": TEXT}}]}, {"role": "tool", "tool_call_id": "c", "content": "ok"}]}),
    (RESPONSES, "stored prompt variables", {"input": "hi", "prompt": {"id": "pmpt_1", "variables": {"customer": TEXT}}}),
    (ANTHROPIC, "a parameter added after this release", {"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "x_new_field": [TEXT]}),
    (COMPLETIONS, "prompt", {"prompt": TEXT}),
    (COMPLETIONS, "prompt list and suffix", {"prompt": ["hi", TEXT], "suffix": TEXT}),
    (EMBEDDINGS, "input", {"input": TEXT}),
    (EMBEDDINGS, "input list", {"input": ["hi", TEXT]}),
]  # fmt: skip
MODELS = {
    CHAT: "gpt-4o",
    RESPONSES: "gpt-4o",
    ANTHROPIC: "claude-proxy-test",
    COMPLETIONS: "gpt-3.5-turbo-instruct",
    EMBEDDINGS: "text-embedding-3-small",
    COUNT_TOKENS: "claude-proxy-test",
}


def _post(proxy: RunningProxy, path: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"authorization": f"Bearer {PROXY_KEY}", "anthropic-version": "2023-06-01"}
    return httpx.post(proxy.url + path, json={"model": MODELS[path], **body}, headers=headers, timeout=30)


@pytest.mark.parametrize(("path", "slot", "body"), ROWS, ids=[f"{path} {slot}" for path, slot, _ in ROWS])
def test_no_value_reaches_the_vendor_and_unknown_fields_pass(
    proxy: RunningProxy, vendor: MockVendor, path: str, slot: str, body: dict[str, Any]
) -> None:
    vendor.script.reply = "ok"
    response = _post(proxy, path, {**body, "x_future_parameter": {"keep": [1, "two"]}})
    assert response.status_code == 200, response.text
    assert response.headers["x-proxy-decision"] == "transform"
    assert EMAIL not in vendor.received[-1].raw.decode()
    assert vendor.last["x_future_parameter"] == {"keep": [1, "two"]}


def test_each_surface_plays_only_the_roles_it_supports() -> None:
    """Embeddings (vectors) and token counting (a number) answer without text and never stream:
    they have no member of those roles at all, so none of them is a stub."""
    textless = {"openai-embeddings", "anthropic-count-tokens"}
    assert set(ANSWERS) == set(STREAMS) == set(READERS) == set(DIALECTS) - textless
    optional = {name for name in (*vars(Answers), *vars(Streams)) if not name.startswith("_")}
    assert "response_slots" in optional and "echo_events" in optional  # the roles' members were read
    assert [f"{name}.{member}" for name in textless for member in optional if hasattr(DIALECTS[name], member)] == []


NEVER_STREAM = [
    (EMBEDDINGS, {"input": TEXT}),
    (COUNT_TOKENS, {"messages": [{"role": "user", "content": TEXT}]}),
]


@pytest.mark.parametrize("echo", [False, True], ids=["vendor", "echo"])
@pytest.mark.parametrize(("path", "body"), NEVER_STREAM, ids=[path for path, _ in NEVER_STREAM])
def test_a_surface_that_never_streams_answers_whole_when_asked_to_stream(
    proxy: RunningProxy, vendor: MockVendor, path: str, body: dict[str, Any], echo: bool
) -> None:
    sent = len(vendor.received)
    response = _post(proxy, path, {**body, "stream": True, **({"model": "echo"} if echo else {})})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["data" if path == EMBEDDINGS else "input_tokens"]
    if echo:
        assert len(vendor.received) == sent
    else:  # the field is the vendor's to judge: passed on as the client sent it
        assert vendor.last["stream"] is True and EMAIL not in vendor.received[-1].raw.decode()
