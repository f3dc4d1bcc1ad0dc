"""OpenAI Chat Completions: `POST /v1/chat/completions`, JSON and `chat.completion.chunk` streams.

Reference: https://platform.openai.com/docs/api-reference/chat
"""

from __future__ import annotations

import json
from typing import Any

from proxy.dialects.openai_shapes import (
    DONE,
    OpenAIStreams,
    assemble_chunks,
    chunk_shell,
    echo_usage,
    envelope,
)
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
from proxy.export.conversation import Builder, Conversation, ToolCall, function_tool, role_of, text_of

# Values under these keys are structure, not text: a schema's `type: string`, a part's image data.
SCHEMA_WORDS = frozenset({"type", "format", "pattern", "$ref", "$schema", "$id", "required", "additionalProperties"})
# Top-level fields read by name above; every other field is scanned whole (`other_slots`).
HANDLED = frozenset({"model", "messages", "tools", "functions", "prediction", "response_format"})
MESSAGE_HANDLED = frozenset({"role", "content", "name", "refusal", "tool_calls", "function_call", "tool_call_id"})
BINARY_PARTS = frozenset({"image_url", "input_audio", "file"})
PART_WORDS = frozenset({"type", "url", "data", "file_data", "file_id", "format", "detail"})


class OpenAIChat(OpenAIStreams):
    name = "openai-chat"
    path = "/v1/chat/completions"
    upstream_path = "/chat/completions"

    def request_slots(self, body: dict[str, Any]) -> list[Slot]:
        """Every text the vendor could read. A shape we do not understand in a place that carries
        text is refused, not passed on unscanned."""
        messages = _objects(body, "messages")
        if not messages:
            raise BadRequest("'messages' must be a non-empty array", code="invalid_messages")
        slots: list[Slot] = []
        for i, message in enumerate(messages):
            slots += self._message_slots(("messages", i), message)
        for key in ("tools", "functions"):  # `functions` is the deprecated form of `tools`
            for k, tool in enumerate(_objects(body, key)):
                # descriptions, schemas, custom tools' grammars: every string but names and structure
                slots += tree_slots((key, k), tool, SCHEMA_WORDS | {"name", "strict"})
        slots += tree_slots(("prediction",), body.get("prediction"), frozenset({"type"}))
        slots += tree_slots(("response_format",), body.get("response_format"), SCHEMA_WORDS | {"name", "strict"})
        return slots + other_slots((), body, HANDLED)

    def _message_slots(self, at: JSONPath, message: dict[str, Any]) -> list[Slot]:
        slots = text_slot((*at, "name"), message.get("name")) + text_slot((*at, "refusal"), message.get("refusal"))
        content = message.get("content")
        if isinstance(content, str):
            slots += text_slot((*at, "content"), content)
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict):
                    raise BadRequest(f"{_where(at)}.content[{j}] must be an object", code="invalid_messages")
                # text, refusal and any part type added later: every string but the binary data
                slots += tree_slots((*at, "content", j), part, PART_WORDS) + _media_slots((*at, "content", j), part)
        elif content is not None:
            raise BadRequest(f"{_where(at)}.content must be a string or an array", code="invalid_messages")
        slots += self._tool_call_slots(at, message)
        return slots + other_slots(at, message, MESSAGE_HANDLED)

    def _tool_call_slots(self, at: JSONPath, message: dict[str, Any]) -> list[Slot]:
        slots: list[Slot] = []
        calls = message.get("tool_calls") or []
        if not isinstance(calls, list) or not all(isinstance(call, dict) for call in calls):
            # refused, not skipped: whatever is not read here would reach the vendor unscanned
            raise BadRequest(f"{_where(at)}.tool_calls must be an array of objects", code="invalid_messages")
        for j, call in enumerate(calls):
            if isinstance(call.get("function"), dict):
                path = (*at, "tool_calls", j, "function", "arguments")
                arguments = call["function"].get("arguments")
                # arguments are a JSON string; sent as an object instead, they are read as one
                slots += (
                    json_string_slots(path, arguments)
                    if isinstance(arguments, str)
                    else tree_slots(path, arguments, keys=True)
                )
            elif isinstance(call.get("custom"), dict):  # free-form custom tools
                slots += text_slot((*at, "tool_calls", j, "custom", "input"), call["custom"].get("input"))
        if isinstance(message.get("function_call"), dict):  # the deprecated single-call form
            slots += json_string_slots((*at, "function_call", "arguments"), message["function_call"].get("arguments"))
        return slots

    def unscannable_parts(self, body: dict[str, Any]) -> list[JSONPath]:
        return [
            ("messages", i, "content", j)
            for i, message in enumerate(_objects(body, "messages"))
            if isinstance(message.get("content"), list)
            for j, part in enumerate(message["content"])
            if kind_of(part) in BINARY_PARTS and not carries_text(_inline(part))
        ]

    def response_slots(self, body: dict[str, Any]) -> list[Slot]:
        slots: list[Slot] = []
        for i, choice in enumerate(body.get("choices") or []):
            if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
                at: JSONPath = ("choices", i, "message")
                slots += text_slot((*at, "content"), choice["message"].get("content"))
                slots += text_slot((*at, "refusal"), choice["message"].get("refusal"))
                audio = choice["message"].get("audio")
                slots += text_slot(
                    (*at, "audio", "transcript"), audio.get("transcript") if isinstance(audio, dict) else None
                )
                slots += self._tool_call_slots(at, choice["message"])
        return slots

    def stream_deltas(self, event: dict[str, Any]) -> list[StreamDelta]:
        deltas: list[StreamDelta] = []
        for position, choice in enumerate(event.get("choices") or []):
            delta = choice.get("delta") or {}
            index = choice.get("index", position)
            for field in ("content", "refusal"):
                if isinstance(delta.get(field), str):
                    deltas.append(StreamDelta((index, field), ("choices", position, "delta", field)))
            if isinstance((delta.get("function_call") or {}).get("arguments"), str):  # the deprecated form
                legacy: JSONPath = ("choices", position, "delta", "function_call", "arguments")
                deltas.append(StreamDelta((index, "function_call"), legacy, json_string=True))
            for j, call in enumerate(delta.get("tool_calls") or []):
                if isinstance((call.get("function") or {}).get("arguments"), str):
                    path = ("choices", position, "delta", "tool_calls", j, "function", "arguments")
                    deltas.append(StreamDelta((index, "tool", call.get("index", j)), path, json_string=True))
        return deltas

    def stream_closes(self, event: dict[str, Any]) -> list[int | str]:
        return [c.get("index", p) for p, c in enumerate(event.get("choices") or []) if c.get("finish_reason")]

    def stream_append(self, event: dict[str, Any], key: tuple[int | str, ...], text: str) -> bool:
        choice = next(c for p, c in enumerate(event["choices"]) if c.get("index", p) == key[0])
        delta = choice.setdefault("delta", {})
        if key[1] in ("content", "refusal"):
            delta[key[1]] = (delta.get(key[1]) or "") + text
        elif key[1] == "function_call":
            call = delta.setdefault("function_call", {})
            call["arguments"] = (call.get("arguments") or "") + text
        else:
            delta.setdefault("tool_calls", []).append({"index": key[2], "function": {"arguments": text}})
        return True

    def text_event(self, template: dict[str, Any], key: tuple[int | str, ...], text: str) -> dict[str, Any]:
        event = chunk_shell(template)
        event["choices"] = [{"index": key[0], "delta": {}, "finish_reason": None}]
        self.stream_append(event, key, text)
        return event

    def assemble(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """One `chat.completion` from its chunks, so a stream is stored like a plain answer."""
        body = assemble_chunks(events, "chat.completion", _empty_choice, _merge_choice)
        for choice in body["choices"]:
            calls = choice["message"].pop("_calls")
            if calls:
                choice["message"]["tool_calls"] = [calls[k] for k in sorted(calls)]
        return body

    def echo_reply(self, model: str, text: str) -> dict[str, Any]:
        return {
            **envelope(model, "chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": echo_usage(text),
        }

    def echo_events(self, model: str, text: str, chunk_chars: int) -> list[SSEEvent]:
        shell = envelope(model, "chat.completion.chunk")
        pieces = [text[i : i + chunk_chars] for i in range(0, len(text), chunk_chars)]
        chunks = [{"role": "assistant", "content": ""}] + [{"content": piece} for piece in pieces]
        events = [{**shell, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in chunks]
        events.append({**shell, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        return [SSEEvent(json.dumps(event)) for event in events] + [SSEEvent(DONE)]

    def conversation(self, request: dict[str, Any], response: dict[str, Any]) -> Conversation:
        builder = Builder()
        for message in request["messages"]:
            _read_message(builder, message)
        _read_message(builder, response["choices"][0]["message"])
        tools = [
            function_tool(tool["function"]) for tool in request.get("tools") or [] if tool.get("type") == "function"
        ]
        return Conversation(builder.messages, tools)

    def finish_reason(self, response: dict[str, Any]) -> Any:
        return response["choices"][0].get("finish_reason")


def _objects(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """`body[key]` as a list of objects (empty when absent); any other shape is refused."""
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BadRequest(f"'{key}' must be an array of objects", code="invalid_request")
    return value


MEDIA_FIELDS = {"image_url": "url", "file": "file_data"}  # part type -> its URL or inline data


def _inline(part: dict[str, Any]) -> Any:
    """The URL or inline data of a media part (None when it has none)."""
    kind = kind_of(part)
    media = part.get(kind) if kind in MEDIA_FIELDS else None
    return media.get(MEDIA_FIELDS[kind]) if isinstance(media, dict) and kind else None


def _media_slots(at: JSONPath, part: dict[str, Any]) -> list[Slot]:
    """An image's URL and a file's inline data, when they are text (see `media_slots`)."""
    kind = kind_of(part)
    return media_slots((*at, kind, MEDIA_FIELDS[kind]), _inline(part)) if kind in MEDIA_FIELDS else []


def _where(at: JSONPath) -> str:
    return f"{at[0]}[{at[1]}]"


def _empty_choice(choice: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": choice.get("index", 0),
        "message": {"role": "assistant", "content": None, "_calls": {}},
        "finish_reason": None,
    }


def _merge_choice(target: dict[str, Any], choice: dict[str, Any]) -> None:
    delta = choice.get("delta") or {}
    message = target["message"]
    if delta.get("content"):
        message["content"] = (message["content"] or "") + delta["content"]
    for call in delta.get("tool_calls") or []:
        slot = message["_calls"].setdefault(
            call.get("index", 0), {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
        )
        slot["id"] = call.get("id") or slot["id"]
        function = call.get("function") or {}
        slot["function"]["name"] += function.get("name") or ""
        slot["function"]["arguments"] += function.get("arguments") or ""
    if choice.get("finish_reason"):
        target["finish_reason"] = choice["finish_reason"]


def _read_message(builder: Builder, message: dict[str, Any]) -> None:
    role = role_of(message["role"])
    content = text_of(message.get("content"), ("text", "refusal")) or message.get("refusal") or ""
    calls = tuple(
        ToolCall(call["id"], call["function"]["name"], call["function"].get("arguments") or "{}")
        for call in message.get("tool_calls") or []
    )
    builder.add(role, content, calls, message.get("tool_call_id"))
