"""OpenAI Responses: `POST /v1/responses`, JSON and its typed SSE events.

`previous_response_id` and `conversation` point at history the vendor keeps: the proxy never
sees it, so it is an unscannable part, handled as the policy's `unscannable_parts` says.
Reference: https://platform.openai.com/docs/api-reference/responses
"""

from __future__ import annotations

import json
from typing import Any

from proxy.dialects.openai_shapes import OpenAIStreams, envelope
from proxy.dialects.paths import (
    carries_text,
    json_string_slots,
    kind_of,
    media_slots,
    other_slots,
    text_slot,
    tree_slots,
)
from proxy.dialects.protocols import StreamDelta
from proxy.dialects.sse import SSEEvent
from proxy.errors import BadRequest
from proxy.exchange import JSONPath, Slot
from proxy.export.conversation import Builder, Conversation, ToolCall, Unreadable, function_tool, role_of, text_of

SCHEMA_WORDS = frozenset({"type", "format", "pattern", "$ref", "$schema", "$id", "required", "additionalProperties"})
PART_WORDS = frozenset({"type", "image_url", "file_id", "file_data", "file_url", "detail", "id", "status"})
MEDIA_FIELDS = ("image_url", "file_url", "file_data")  # a part's URL or inline data: text when it reads as text
ITEM_WORDS = frozenset({"type", "id", "call_id", "status", "name", "role"})
VENDOR_HISTORY = ("previous_response_id", "conversation")
# Top-level fields read by name; every other field is scanned whole (`other_slots`).
HANDLED = frozenset({"model", "instructions", "input", "tools", "text", *VENDOR_HISTORY})
FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class OpenAIResponses(OpenAIStreams):
    name = "openai-responses"
    path = "/v1/responses"
    upstream_path = "/responses"
    upstream_kinds = frozenset({"openai", "openai-compatible"})  # Azure OpenAI has no Responses API here

    def request_slots(self, body: dict[str, Any]) -> list[Slot]:
        slots = text_slot(("instructions",), body.get("instructions"))
        items = body.get("input")
        if isinstance(items, str):
            slots += text_slot(("input",), items)
        elif isinstance(items, list) and all(isinstance(item, dict) for item in items):
            for i, item in enumerate(items):
                slots += self._item_slots(("input", i), item)
        elif items is not None:
            raise BadRequest("'input' must be a string or an array of items", code="invalid_input")
        # tools (nested namespaces too) and the output format: every string but names and structure
        slots += tree_slots(("tools",), body.get("tools"), SCHEMA_WORDS | {"name", "strict"})
        slots += tree_slots(("text",), body.get("text"), SCHEMA_WORDS | {"name", "strict", "verbosity"})
        return slots + other_slots((), body, HANDLED)  # prompt variables, metadata, user, and what comes

    def _item_slots(self, at: JSONPath, item: dict[str, Any]) -> list[Slot]:
        kind = item.get("type", "message")
        if kind == "reasoning":
            # encrypted_content is the vendor's own (signed); a readable summary is text like any other
            return tree_slots((*at, "summary"), item.get("summary"), ITEM_WORDS)
        if kind == "function_call":
            return json_string_slots((*at, "arguments"), item.get("arguments"))
        if kind == "function_call_output":
            return text_slot((*at, "output"), item.get("output")) + tree_slots(
                (*at, "output"), _list(item.get("output"))
            )
        if kind == "message":
            content = item.get("content")
            if isinstance(content, str):
                return text_slot((*at, "content"), content)
            if not isinstance(content, list) or not all(isinstance(part, dict) for part in content):
                raise BadRequest("a message's content must be a string or an array of parts", code="invalid_input")
            return [s for j, part in enumerate(content) for s in _part_slots((*at, "content", j), part)]
        return tree_slots(at, item, ITEM_WORDS)  # item types added later: every string but the structure

    def unscannable_parts(self, body: dict[str, Any]) -> list[JSONPath]:
        parts: list[JSONPath] = [(key,) for key in VENDOR_HISTORY if body.get(key)]
        items = body.get("input")
        for i, item in enumerate(items if isinstance(items, list) else []):
            content = item.get("content") if isinstance(item, dict) else None
            for j, part in enumerate(content if isinstance(content, list) else []):
                if isinstance(part, dict) and part.get("type") in ("input_image", "input_file", "input_audio"):
                    if not any(carries_text(part.get(name)) for name in ("image_url", "file_data")):
                        parts.append(("input", i, "content", j))
            output = item.get("output") if isinstance(item, dict) else None
            for j, part in enumerate(output if isinstance(output, list) else []):  # a tool that returned an image
                if isinstance(part, dict) and part.get("type") in ("input_image", "input_file", "input_audio"):
                    parts.append(("input", i, "output", j))
        return parts

    def response_slots(self, body: dict[str, Any]) -> list[Slot]:
        slots: list[Slot] = []
        for i, item in enumerate(body.get("output") or []):
            slots += _output_item_slots(("output", i), item)
        return slots

    def stream_whole_slots(self, event: dict[str, Any]) -> list[Slot]:
        """Complete texts that `.done` and final events repeat: restored whole, like a JSON answer."""
        kind = event.get("type")
        if kind == "response.output_text.done":
            return text_slot(("text",), event.get("text"))
        if kind == "response.function_call_arguments.done":
            return json_string_slots(("arguments",), event.get("arguments"))
        if kind == "response.content_part.done" and isinstance(event.get("part"), dict):
            return text_slot(("part", "text"), event["part"].get("text"))
        if kind == "response.output_item.done":
            return _output_item_slots(("item",), event.get("item"))
        if isinstance(event.get("response"), dict):
            return [Slot(("response", *s.path), s.text, s.pointer) for s in self.response_slots(event["response"])]
        return []

    def stream_deltas(self, event: dict[str, Any]) -> list[StreamDelta]:
        kind, output = event.get("type"), event.get("output_index", 0)
        if kind == "response.output_text.delta" and isinstance(event.get("delta"), str):
            return [StreamDelta((output, event.get("content_index", 0), "text"), ("delta",))]
        if kind == "response.function_call_arguments.delta" and isinstance(event.get("delta"), str):
            return [StreamDelta((output, "args"), ("delta",), json_string=True)]
        return []

    def stream_closes(self, event: dict[str, Any]) -> list[int | str]:
        done = event.get("type") in ("response.output_text.done", "response.function_call_arguments.done")
        return [event.get("output_index", 0)] if done else []

    def stream_append(self, event: dict[str, Any], key: tuple[int | str, ...], text: str) -> bool:
        return False  # a `.done` event repeats the whole text; the held piece goes in a delta before it

    def text_event(self, template: dict[str, Any], key: tuple[int | str, ...], text: str) -> dict[str, Any]:
        shared = {
            "item_id": template.get("item_id"),
            "output_index": key[0],
            "delta": text,
            "sequence_number": template.get("sequence_number", 0),
        }
        if key[-1] == "args":
            return {"type": "response.function_call_arguments.delta", **shared}
        return {"type": "response.output_text.delta", **shared, "content_index": key[1], "logprobs": []}

    def event_name(self, event: dict[str, Any]) -> str | None:
        return str(event.get("type") or "error")

    def stream_is_end(self, sse: SSEEvent) -> bool:
        if sse.event in FINAL_EVENTS:
            return True
        if not any(kind in sse.data[:80] for kind in FINAL_EVENTS):  # cheap test before parsing
            return False
        try:
            return kind_of(json.loads(sse.data)) in FINAL_EVENTS  # servers that send no `event:` line
        except (ValueError, AttributeError):
            return False

    def assemble(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        final = next((e["response"] for e in reversed(events) if isinstance(e.get("response"), dict)), None)
        items = [e["item"] for e in events if e.get("type") == "response.output_item.done"]
        if final is not None and (final.get("output") or not items):
            return dict(final)
        return {"object": "response", **(final or {}), "output": items}

    def echo_reply(self, model: str, text: str) -> dict[str, Any]:
        shell = envelope(model, "response", "resp")
        message = {
            "type": "message",
            "id": "msg_echo",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        words = len(text.split())
        usage = {"input_tokens": words, "output_tokens": words, "total_tokens": 2 * words}
        return {**shell, "created_at": shell.pop("created"), "status": "completed", "output": [message], "usage": usage}

    def echo_events(self, model: str, text: str, chunk_chars: int) -> list[SSEEvent]:
        final = self.echo_reply(model, text)
        started = {**final, "status": "in_progress", "output": []}
        base = {"item_id": "msg_echo", "output_index": 0, "content_index": 0}
        pieces = [text[i : i + chunk_chars] for i in range(0, len(text), chunk_chars)]
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": started},
            {"type": "response.output_item.added", "output_index": 0, "item": {**final["output"][0], "content": []}},
            *({"type": "response.output_text.delta", **base, "delta": piece} for piece in pieces),
            {"type": "response.output_text.done", **base, "text": text},
            {"type": "response.output_item.done", "output_index": 0, "item": final["output"][0]},
            {"type": "response.completed", "response": final},
        ]
        for number, event in enumerate(events):
            event["sequence_number"] = number
        return [SSEEvent(json.dumps(event), str(event["type"])) for event in events]

    def conversation(self, request: dict[str, Any], response: dict[str, Any]) -> Conversation:
        builder = Builder()
        if request.get("instructions"):
            builder.add("system", request["instructions"])
        items = request["input"]
        for item in [{"role": "user", "content": items}] if isinstance(items, str) else items:
            _read_item(builder, item)
        for item in response["output"]:
            _read_item(builder, item)
        tools = [function_tool(tool) for tool in request.get("tools") or [] if tool.get("type") == "function"]
        return Conversation(builder.messages, tools)

    def finish_reason(self, response: dict[str, Any]) -> Any:
        incomplete = (response.get("incomplete_details") or {}).get("reason")
        calls = any(item.get("type") == "function_call" for item in response.get("output") or [])
        return "length" if incomplete == "max_output_tokens" else "tool_calls" if calls else "stop"


def _output_item_slots(at: JSONPath, item: Any) -> list[Slot]:
    if not isinstance(item, dict):
        return []
    if item.get("type") == "function_call":
        return json_string_slots((*at, "arguments"), item.get("arguments"))
    if item.get("type") == "custom_tool_call":
        return text_slot((*at, "input"), item.get("input"))
    content = item.get("content") if item.get("type") == "message" else None
    slots: list[Slot] = []
    for j, part in enumerate(content if isinstance(content, list) else []):
        if isinstance(part, dict) and part.get("type") in ("output_text", "refusal"):
            field = "text" if part["type"] == "output_text" else "refusal"
            slots += text_slot((*at, "content", j, field), part.get(field))
    return slots


def _list(value: Any) -> Any:
    """A tool output given as parts (a list), else None: a string output is its own slot."""
    return value if isinstance(value, list) else None


def _part_slots(at: JSONPath, part: dict[str, Any]) -> list[Slot]:
    """Every string of a content part but its structure, and its URL or inline data when text."""
    return tree_slots(at, part, PART_WORDS) + [
        s for name in MEDIA_FIELDS for s in media_slots((*at, name), part.get(name))
    ]


def _read_item(builder: Builder, item: dict[str, Any]) -> None:
    kind = item.get("type", "message")
    if kind == "message":
        parts = ("input_text", "output_text", "text", "refusal")
        builder.add(role_of(item["role"]), text_of(item.get("content"), parts))
    elif kind == "function_call":
        builder.add("assistant", calls=(ToolCall(item["call_id"], item["name"], item.get("arguments") or "{}"),))
    elif kind == "function_call_output":
        output = item["output"]
        builder.add("tool", output if isinstance(output, str) else json.dumps(output), call_id=item["call_id"])
    elif kind != "reasoning":  # reasoning is the vendor's scratchpad, not part of the dialogue
        raise Unreadable("unsupported_item")
