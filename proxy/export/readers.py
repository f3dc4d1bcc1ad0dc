"""Read a recorded request and its answer, in any dialect, as one neutral `Conversation`.

The request holds the history the client sent; the answer adds the assistant's turn. A stream is
stored already assembled into one answer body, so it reads like any other answer. Anything that
is not text (images, audio, files) makes the record unreadable rather than silently dropped:
training on a conversation with a hole in it teaches the wrong thing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from proxy.export.conversation import Conversation, Message, Role, Tool, ToolCall, Unreadable

Reader = Callable[[dict[str, Any], Any], Conversation]


def read_conversation(endpoint: str, request: Any, response: Any) -> Conversation:
    """The conversation of one record; `Unreadable` (with a skip reason) when there is none."""
    reader = READERS.get(endpoint)
    if reader is None:
        raise Unreadable("no_conversation")
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise Unreadable("missing_payload")
    try:
        conversation = reader(request, response)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        raise Unreadable("unreadable") from None
    if not any(m.role == "assistant" for m in conversation.messages):
        raise Unreadable("no_answer")
    return conversation


# Anthropic's and the Responses API's words for why an answer ended, in Chat Completions' words
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length"}


def finish_reason(endpoint: str, response: Any) -> str | None:
    """Why the answer ended, in Chat Completions' words (stop, length, tool_calls, content_filter)."""
    try:
        if endpoint in ("openai-chat", "openai-completions"):
            reason = response["choices"][0].get("finish_reason")
        elif endpoint == "anthropic-messages":
            reason = response.get("stop_reason")
        elif endpoint == "openai-responses":
            incomplete = (response.get("incomplete_details") or {}).get("reason")
            calls = any(item.get("type") == "function_call" for item in response.get("output") or [])
            reason = "length" if incomplete == "max_output_tokens" else "tool_calls" if calls else "stop"
        else:
            return None
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return _FINISH.get(reason, reason) if isinstance(reason, str) else None


class _Builder:
    """Appends messages, merging consecutive assistant pieces (text, then its tool calls) into one."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def add(self, role: Role, content: str = "", calls: tuple[ToolCall, ...] = (), call_id: str | None = None) -> None:
        last = self.messages[-1] if self.messages else None
        if role == "assistant" and last is not None and last.role == "assistant" and not last.tool_calls:
            joined = "\n".join(text for text in (last.content, content) if text)
            self.messages[-1] = Message("assistant", joined, calls)
            return
        if role == "assistant" and last is not None and last.role == "assistant" and not content:
            self.messages[-1] = Message("assistant", last.content, last.tool_calls + calls)
            return
        self.messages.append(Message(role, content, calls, call_id))


def _text(content: Any, kinds: tuple[str, ...]) -> str:
    """A string, or the text of a list of parts; any part that is not text is refused."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if part.get("type") not in kinds:
            raise Unreadable("non_text_content")
        texts.append(part.get("text") or part.get("refusal") or "")
    return "\n".join(texts)


def _role(role: str) -> Role:
    mapped = {"developer": "system", "system": "system", "user": "user", "assistant": "assistant", "tool": "tool"}
    if role not in mapped:
        raise Unreadable("unsupported_role")
    return mapped[role]  # type: ignore[return-value]


# OpenAI chat completions


def _openai_chat(request: dict[str, Any], response: Any) -> Conversation:
    builder = _Builder()
    for message in request["messages"]:
        _chat_message(builder, message)
    _chat_message(builder, response["choices"][0]["message"])
    tools = [_function_tool(tool["function"]) for tool in request.get("tools") or [] if tool.get("type") == "function"]
    return Conversation(builder.messages, tools)


def _chat_message(builder: _Builder, message: dict[str, Any]) -> None:
    role = _role(message["role"])
    content = _text(message.get("content"), ("text", "refusal")) or message.get("refusal") or ""
    calls = tuple(
        ToolCall(call["id"], call["function"]["name"], call["function"].get("arguments") or "{}")
        for call in message.get("tool_calls") or []
    )
    builder.add(role, content, calls, message.get("tool_call_id"))


def _function_tool(function: dict[str, Any]) -> Tool:
    return Tool(function["name"], function.get("description") or "", function.get("parameters") or {})


# OpenAI responses


def _openai_responses(request: dict[str, Any], response: Any) -> Conversation:
    builder = _Builder()
    if request.get("instructions"):
        builder.add("system", request["instructions"])
    items = request["input"]
    for item in [{"role": "user", "content": items}] if isinstance(items, str) else items:
        _responses_item(builder, item)
    for item in response["output"]:
        _responses_item(builder, item)
    tools = [_function_tool(tool) for tool in request.get("tools") or [] if tool.get("type") == "function"]
    return Conversation(builder.messages, tools)


def _responses_item(builder: _Builder, item: dict[str, Any]) -> None:
    kind = item.get("type", "message")
    if kind == "message":
        parts = ("input_text", "output_text", "text", "refusal")
        builder.add(_role(item["role"]), _text(item.get("content"), parts))
    elif kind == "function_call":
        builder.add("assistant", calls=(ToolCall(item["call_id"], item["name"], item.get("arguments") or "{}"),))
    elif kind == "function_call_output":
        output = item["output"]
        builder.add("tool", output if isinstance(output, str) else json.dumps(output), call_id=item["call_id"])
    elif kind != "reasoning":  # reasoning is the vendor's scratchpad, not part of the dialogue
        raise Unreadable("unsupported_item")


# Anthropic messages


def _anthropic_messages(request: dict[str, Any], response: Any) -> Conversation:
    builder = _Builder()
    system = _text(request.get("system"), ("text",))
    if system:
        builder.add("system", system)
    for message in request["messages"]:
        _anthropic_message(builder, message["role"], message["content"])
    _anthropic_message(builder, "assistant", response["content"])
    tools = [
        Tool(tool["name"], tool.get("description") or "", tool.get("input_schema") or {})
        for tool in request.get("tools") or []
        if tool.get("type", "custom") == "custom"
    ]
    return Conversation(builder.messages, tools)


def _anthropic_message(builder: _Builder, role: str, content: Any) -> None:
    if isinstance(content, str):
        builder.add(_role(role), content)
        return
    for block in content:
        kind = block["type"]
        if kind == "text":
            builder.add(_role(role), block["text"])
        elif kind == "tool_use":
            call = ToolCall(block["id"], block["name"], json.dumps(block.get("input") or {}, ensure_ascii=False))
            builder.add("assistant", calls=(call,))
        elif kind == "tool_result":
            builder.add("tool", _text(block.get("content"), ("text",)), call_id=block["tool_use_id"])
        elif kind not in ("thinking", "redacted_thinking"):
            raise Unreadable("non_text_content")


# OpenAI legacy completions: a prompt and its continuation


def _openai_completions(request: dict[str, Any], response: Any) -> Conversation:
    prompt = request["prompt"]
    if not isinstance(prompt, str):
        raise Unreadable("unreadable")
    return Conversation([Message("user", prompt), Message("assistant", response["choices"][0]["text"])])


READERS: dict[str, Reader] = {
    "openai-chat": _openai_chat,
    "openai-responses": _openai_responses,
    "anthropic-messages": _anthropic_messages,
    "openai-completions": _openai_completions,
}
