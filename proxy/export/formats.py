"""Render one neutral conversation as one line of each JSONL training format.

- `openai-jsonl`: OpenAI chat fine-tuning (`messages`, `tools`, assistant `tool_calls` with
  `arguments` as JSON strings, optional per-message `weight`).
- `anthropic-jsonl`: an Anthropic Messages request (`system`, `messages` of content blocks with
  `tool_use` / `tool_result`, `tools` with `input_schema`).
- `sharegpt`: LLaMA-Factory's ShareGPT (`conversations` of human / gpt / function_call /
  observation, `system`, `tools` as a JSON string).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from proxy.export.conversation import Conversation, Message, Unreadable

Weights = Literal["none", "last", "all"]
Render = Callable[[Conversation, Weights], dict[str, Any]]


def openai_row(conversation: Conversation, weights: Weights = "none") -> dict[str, Any]:
    last = max(i for i, m in enumerate(conversation.messages) if m.role == "assistant")
    messages = [
        _openai_message(m, None if weights == "none" else int(weights == "all" or i == last))
        for i, m in enumerate(conversation.messages)
    ]
    row: dict[str, Any] = {"messages": messages}
    if conversation.tools:
        row["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in conversation.tools
        ]
    return row


def _openai_message(message: Message, weight: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["content"] = message.content or None
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id
    if message.role == "assistant" and weight is not None:
        out["weight"] = weight
    return out


def anthropic_row(conversation: Conversation, weights: Weights = "none") -> dict[str, Any]:
    system = "\n".join(m.content for m in conversation.messages if m.role == "system")
    messages: list[dict[str, Any]] = []
    for message in conversation.messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _anthropic_blocks(message)
        if messages and messages[-1]["role"] == role:  # roles must alternate: merge neighbours
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
    if not messages or messages[0]["role"] != "user":
        raise Unreadable("invalid_for_format")
    row: dict[str, Any] = {"messages": messages}
    if system:
        row["system"] = system
    if conversation.tools:
        row["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in conversation.tools
        ]
    return row


def _anthropic_blocks(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [{"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}]
    blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
    for call in message.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": _arguments(call.arguments)})
    return blocks


def _arguments(document: str) -> dict[str, Any]:
    try:
        value = json.loads(document or "{}")
    except ValueError:
        raise Unreadable("invalid_for_format") from None
    if not isinstance(value, dict):
        raise Unreadable("invalid_for_format")
    return value


def sharegpt_row(conversation: Conversation, weights: Weights = "none") -> dict[str, Any]:
    """Turns alternate human/observation then gpt/function_call, and end on the assistant's; an
    assistant turn that calls tools is its function_call (text beside a call has no slot here)."""
    groups: list[tuple[str, list[Message]]] = []
    for message in conversation.messages:
        if message.role == "system":
            continue
        kind = _sharegpt_from(message)
        if groups and groups[-1][0] == kind:
            groups[-1][1].append(message)
        else:
            groups.append((kind, [message]))
    turns = [{"from": kind, "value": _sharegpt_value(kind, messages)} for kind, messages in groups]
    if not turns or turns[0]["from"] != "human" or turns[-1]["from"] not in ("gpt", "function_call"):
        raise Unreadable("invalid_for_format")
    row: dict[str, Any] = {"conversations": turns}
    system = "\n".join(m.content for m in conversation.messages if m.role == "system")
    if system:
        row["system"] = system
    if conversation.tools:
        tools = [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in conversation.tools]
        row["tools"] = json.dumps(tools, ensure_ascii=False)
    return row


def _sharegpt_from(message: Message) -> str:
    if message.role == "assistant" and message.tool_calls:
        return "function_call"
    return {"user": "human", "assistant": "gpt", "tool": "observation"}[message.role]


def _sharegpt_value(kind: str, messages: list[Message]) -> str:
    """Parallel calls, or their results, become one JSON list; neighbouring texts are joined."""
    if kind == "function_call":
        calls = [{"name": c.name, "arguments": _arguments(c.arguments)} for m in messages for c in m.tool_calls]
        return json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)
    if kind == "observation" and len(messages) > 1:
        return json.dumps([m.content for m in messages], ensure_ascii=False)
    return "\n".join(m.content for m in messages)


JSONL_FORMATS: dict[str, Render] = {
    "openai-jsonl": openai_row,
    "anthropic-jsonl": anthropic_row,
    "sharegpt": sharegpt_row,
}
