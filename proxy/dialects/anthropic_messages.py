"""Anthropic Messages: `POST /v1/messages`, JSON and its named SSE events.

Reference: https://docs.anthropic.com/en/api/messages and .../messages-streaming
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from proxy.dialects.paths import carries_text, kind_of, media_slots, other_slots, text_slot, tree_slots
from proxy.dialects.protocols import StreamDelta
from proxy.dialects.sse import SSEEvent
from proxy.errors import BadRequest, ProxyError
from proxy.exchange import JSONPath, Slot, Usage
from proxy.export.conversation import Builder, Conversation, Tool, ToolCall, Unreadable, role_of, text_of

# Top-level fields read by name; every other field is scanned whole (`other_slots`).
HANDLED = frozenset({"model", "system", "messages", "tools"})
SCHEMA_WORDS = frozenset({"type", "format", "pattern", "$ref", "$schema", "$id", "required", "additionalProperties"})
BINARY_BLOCKS = frozenset({"image", "document"})
# Thinking blocks carry a signature over their exact text: changing them makes the vendor refuse
# the request. They were written from what the vendor already saw, so they pass untouched.
SIGNED_BLOCKS = frozenset({"thinking", "redacted_thinking"})
BLOCK_WORDS = frozenset({"type", "id", "tool_use_id", "source", "signature", "cache_control", "name"})
# Anthropic's error types by status (https://docs.anthropic.com/en/api/errors)
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
}


class AnthropicWire:
    """The Messages request body and error shape, shared with token counting (which neither
    answers with text nor streams)."""

    restores = True
    upstream_kinds = frozenset({"anthropic"})

    def model(self, body: dict[str, Any]) -> str:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise BadRequest("model: Field required", code="missing_model")
        return model

    def request_slots(self, body: dict[str, Any]) -> list[Slot]:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise BadRequest("messages: must be a non-empty array of objects", code="invalid_messages")
        slots = self._content(("system",), body.get("system"))
        for i, message in enumerate(messages):
            slots += self._content(("messages", i, "content"), message.get("content"))
        tools = body.get("tools") or []
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            raise BadRequest("tools: must be an array of objects", code="invalid_request")
        # descriptions, schemas, input_examples: every string but names and structure
        slots += tree_slots(("tools",), tools, SCHEMA_WORDS | {"name", "cache_control"})
        return slots + other_slots((), body, HANDLED)  # metadata, output_config, and what comes

    def _content(self, at: JSONPath, content: Any) -> list[Slot]:
        """A `system`, message or tool-result content: a string, or an array of blocks."""
        if content is None or isinstance(content, str):
            return text_slot(at, content)
        if not isinstance(content, list) or not all(isinstance(block, dict) for block in content):
            raise BadRequest(
                f"{'.'.join(map(str, at))}: must be a string or an array of blocks", code="invalid_messages"
            )
        slots: list[Slot] = []
        for j, block in enumerate(content):
            kind = kind_of(block)
            if kind in SIGNED_BLOCKS:
                continue
            if kind == "tool_use":
                slots += tree_slots((*at, j, "input"), block.get("input"), keys=True)
            elif kind == "tool_result":
                slots += self._content((*at, j, "content"), block.get("content"))
            elif kind == "document" and _text_source(block):  # a plain-text document is text to scan
                slots += tree_slots((*at, j), block, BLOCK_WORDS - {"source"} | {"media_type", "url"})
            elif kind in BINARY_BLOCKS:
                slots += tree_slots((*at, j), block, BLOCK_WORDS | {"data", "url", "media_type"})  # titles, context
                slots += _source_slots((*at, j, "source"), block.get("source"))
            else:  # text, and any block type added later: every string but the structure
                slots += tree_slots((*at, j), block, BLOCK_WORDS)
        return slots

    def unscannable_parts(self, body: dict[str, Any]) -> list[JSONPath]:
        parts: list[JSONPath] = []
        for i, message in enumerate(body.get("messages") or []):
            parts += _binary_blocks(("messages", i, "content"), message.get("content"))
        return parts

    def error_body(self, error: ProxyError) -> dict[str, Any]:
        kind = error.type if error.type == "policy_violation" else ERROR_TYPES.get(error.status_code, "api_error")
        return {"type": "error", "error": {"type": kind, "message": error.message}}


def _text_source(block: dict[str, Any]) -> bool:
    source = block.get("source")
    return isinstance(source, dict) and source.get("type") in ("text", "content")


def _source_slots(at: JSONPath, source: Any) -> list[Slot]:
    """An image's or document's URL, or its base64 data when that is text (see `media_slots`)."""
    if not isinstance(source, dict):
        return []
    media_type = source.get("media_type") if isinstance(source.get("media_type"), str) else None
    return media_slots((*at, "url"), source.get("url")) + (
        media_slots((*at, "data"), source.get("data"), media_type) if source.get("type") == "base64" else []
    )


def _source_is_text(source: Any) -> bool:
    if not isinstance(source, dict) or source.get("type") != "base64":
        return False
    media_type = source.get("media_type") if isinstance(source.get("media_type"), str) else None
    return carries_text(source.get("data"), media_type)


def _binary_blocks(at: JSONPath, content: Any) -> list[JSONPath]:
    if not isinstance(content, list):
        return []
    parts: list[JSONPath] = []
    for j, block in enumerate(content):
        if kind_of(block) in BINARY_BLOCKS and not _text_source(block) and not _source_is_text(block.get("source")):
            parts.append((*at, j))
        elif isinstance(block, dict) and block.get("type") == "tool_result":
            parts += _binary_blocks((*at, j, "content"), block.get("content"))
    return parts


def _add_delta(block: dict[str, Any], delta: dict[str, Any]) -> None:
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = block.get("text", "") + delta.get("text", "")
    elif kind == "input_json_delta":
        block["_json"] = block.get("_json", "") + delta.get("partial_json", "")
    elif kind == "thinking_delta":
        block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
    elif kind == "signature_delta":
        block["signature"] = delta.get("signature")


def _finish_block(block: dict[str, Any]) -> dict[str, Any]:
    if "_json" in block:
        raw = block.pop("_json")
        try:
            block["input"] = json.loads(raw) if raw else block.get("input", {})
        except ValueError:
            block["input"] = raw  # a stream cut off mid-object: keep what came
    return block


class AnthropicMessages(AnthropicWire):
    """The messages surface: answers with text, streams its named events, and its records read as
    a conversation for export."""

    name = "anthropic-messages"
    path = "/v1/messages"
    upstream_path = "/v1/messages"

    def is_stream(self, body: dict[str, Any]) -> bool:
        return body.get("stream") is True

    def response_slots(self, body: dict[str, Any]) -> list[Slot]:
        slots: list[Slot] = []
        for j, block in enumerate(body.get("content") or []):
            if isinstance(block, dict) and block.get("type") == "text":
                slots += text_slot(("content", j, "text"), block.get("text"))
            elif isinstance(block, dict) and block.get("type") == "tool_use":
                slots += tree_slots(("content", j, "input"), block.get("input"), keys=True)
        return slots

    def stream_whole_slots(self, event: dict[str, Any]) -> list[Slot]:
        return []

    def stream_deltas(self, event: dict[str, Any]) -> list[StreamDelta]:
        if event.get("type") != "content_block_delta":
            return []
        delta, index = event.get("delta") or {}, event.get("index", 0)
        if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
            return [StreamDelta((index, "text"), ("delta", "text"))]
        if delta.get("type") == "input_json_delta" and isinstance(delta.get("partial_json"), str):
            return [StreamDelta((index, "json"), ("delta", "partial_json"), json_string=True)]
        return []

    def stream_closes(self, event: dict[str, Any]) -> list[int | str]:
        return [event.get("index", 0)] if event.get("type") == "content_block_stop" else []

    def stream_append(self, event: dict[str, Any], key: tuple[int | str, ...], text: str) -> bool:
        return False  # a block's stop event carries no text: the text goes in a delta before it

    def text_event(self, template: dict[str, Any], key: tuple[int | str, ...], text: str) -> dict[str, Any]:
        delta = (
            {"type": "text_delta", "text": text}
            if key[1] == "text"
            else {"type": "input_json_delta", "partial_json": text}
        )
        return {"type": "content_block_delta", "index": key[0], "delta": delta}

    def event_name(self, event: dict[str, Any]) -> str | None:
        return str(event.get("type"))

    def stream_is_end(self, sse: SSEEvent) -> bool:
        return sse.event == "message_stop" or '"message_stop"' in sse.data[:40]

    def assemble(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """One `message` from its stream events, so a stream is stored like a plain answer."""
        message: dict[str, Any] = {"type": "message", "role": "assistant", "content": []}
        blocks: dict[int, dict[str, Any]] = {}
        for event in events:
            kind = event.get("type")
            if kind == "message_start":
                message.update({k: v for k, v in (event.get("message") or {}).items() if k != "content"})
            elif kind == "content_block_start":
                blocks[event.get("index", 0)] = dict(event.get("content_block") or {})
            elif kind == "content_block_delta":
                _add_delta(
                    blocks.setdefault(event.get("index", 0), {"type": "text", "text": ""}), event.get("delta") or {}
                )
            elif kind == "message_delta":
                message.update(event.get("delta") or {})
                message["usage"] = {**(message.get("usage") or {}), **(event.get("usage") or {})}
        message["content"] = [_finish_block(blocks[i]) for i in sorted(blocks)]
        return message

    def usage(self, body: dict[str, Any]) -> Usage:
        usage = body.get("usage") or {}
        prompt, completion = usage.get("input_tokens"), usage.get("output_tokens")
        total = prompt + completion if isinstance(prompt, int) and isinstance(completion, int) else None
        return Usage(prompt, completion, total)

    def echo_reply(self, model: str, text: str) -> dict[str, Any]:
        return {
            "id": f"msg_echo{uuid.uuid4().hex[:20]}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": len(text.split()), "output_tokens": len(text.split())},
        }

    def echo_events(self, model: str, text: str, chunk_chars: int) -> list[SSEEvent]:
        start = {**self.echo_reply(model, ""), "content": [], "stop_reason": None}
        pieces = [text[i : i + chunk_chars] for i in range(0, len(text), chunk_chars)]
        events: list[dict[str, Any]] = [
            {"type": "message_start", "message": start},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            *({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}} for p in pieces),
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(pieces)},
            },
            {"type": "message_stop"},
        ]
        return [SSEEvent(json.dumps(event), str(event["type"])) for event in events]

    def conversation(self, request: dict[str, Any], response: dict[str, Any]) -> Conversation:
        builder = Builder()
        system = text_of(request.get("system"), ("text",))
        if system:
            builder.add("system", system)
        for message in request["messages"]:
            _read_content(builder, message["role"], message["content"])
        _read_content(builder, "assistant", response["content"])
        tools = [
            Tool(tool["name"], tool.get("description") or "", tool.get("input_schema") or {})
            for tool in request.get("tools") or []
            if tool.get("type", "custom") == "custom"
        ]
        return Conversation(builder.messages, tools)

    def finish_reason(self, response: dict[str, Any]) -> Any:
        return response.get("stop_reason")


def _read_content(builder: Builder, role: str, content: Any) -> None:
    if isinstance(content, str):
        builder.add(role_of(role), content)
        return
    for block in content:
        kind = block["type"]
        if kind == "text":
            builder.add(role_of(role), block["text"])
        elif kind == "tool_use":
            call = ToolCall(block["id"], block["name"], json.dumps(block.get("input") or {}, ensure_ascii=False))
            builder.add("assistant", calls=(call,))
        elif kind == "tool_result":
            builder.add("tool", text_of(block.get("content"), ("text",)), call_id=block["tool_use_id"])
        elif kind not in SIGNED_BLOCKS:
            raise Unreadable("non_text_content")
