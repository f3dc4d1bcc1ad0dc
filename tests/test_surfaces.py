"""One table across every surface: wherever a client can put text, no value reaches the vendor,
and fields the proxy does not know reach the vendor untouched. Adding a surface adds rows here."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .conftest import PROXY_KEY, RunningProxy
from .mock_vendor import MockVendor

EMAIL = "peter@dailybugle.com"
TEXT = f"Please mail {EMAIL} today"
SCHEMA = {"type": "object", "properties": {"to": {"type": "string", "description": f"like {EMAIL}"}}}
CHAT, RESPONSES, ANTHROPIC = "/v1/chat/completions", "/v1/responses", "/v1/messages"
COMPLETIONS, EMBEDDINGS = "/v1/completions", "/v1/embeddings"

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
