"""One neutral conversation, whatever dialect it was recorded in.

Every export format is written from this shape, so a format never needs to know a vendor's wire
format, and a dialect reader never needs to know an export format.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import orjson

Role = Literal["system", "user", "assistant", "tool"]


class Unreadable(Exception):
    """A record that cannot become a training conversation; the message is a skip reason."""


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # a JSON document, as OpenAI sends it


@dataclass(frozen=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None  # on a tool message: the call it answers


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class Conversation:
    messages: list[Message]
    tools: list[Tool] = field(default_factory=list)

    def texts(self) -> Iterator[str]:
        """Every text a format writes: contents and tool-call arguments."""
        for message in self.messages:
            if message.content:
                yield message.content
            for call in message.tool_calls:
                yield call.arguments

    def length(self) -> int:
        return sum(len(text) for text in self.texts())

    def opening(self) -> str:
        """The first user turn, whitespace and case folded: what a conversation, its continuations
        and every copy of a templated prompt share, so they can be kept in one split."""
        first = next((m.content for m in self.messages if m.role == "user"), "")
        return " ".join(first.casefold().split())

    def map_texts(self, content: Callable[[str], str], arguments: Callable[[str], str]) -> Conversation:
        """The same conversation with every content, tool description and tool-call argument document rewritten."""
        messages = [
            replace(
                message,
                content=content(message.content) if message.content else message.content,
                tool_calls=tuple(replace(call, arguments=arguments(call.arguments)) for call in message.tool_calls),
            )
            for message in self.messages
        ]
        tools = [
            replace(tool, description=content(tool.description)) if tool.description else tool for tool in self.tools
        ]
        return Conversation(messages, tools)

    def digest(self) -> bytes:
        """Identifies the whole conversation, for exact de-duplication (the last of `prefix_digests`,
        without a digest per message: every record pays for it)."""
        if not self.messages:
            return b""
        running = self._hashing()
        running.update(b"".join(map(_message_bytes, self.messages)))
        return running.digest()

    def prefix_digests(self) -> list[bytes]:
        """Digest of messages[:1], [:2], ... [:n]: a later turn that resent this history has them all."""
        digests, running = [], self._hashing()
        for message in self.messages:
            running.update(_message_bytes(message))
            digests.append(running.copy().digest())
        return digests

    def _hashing(self) -> hashlib.blake2b:
        running = hashlib.blake2b(digest_size=16)
        if self.tools:
            running.update(_canonical([[t.name, t.description, t.parameters] for t in self.tools]))
        return running


def _message_bytes(message: Message) -> bytes:
    """One message as hashed: unit and record separators cannot be confused with text (a hot path,
    so no JSON here)."""
    fields = [message.role, message.content, message.tool_call_id or ""]
    for call in message.tool_calls:
        fields += [call.id, call.name, _canonical(_parsed(call.arguments)).decode()]
    return "\x1f".join(fields).encode() + b"\x1e"


def _parsed(document: str) -> Any:
    """Arguments as data: a client resending a call may re-encode its JSON with other spacing."""
    try:
        return orjson.loads(document)
    except orjson.JSONDecodeError:
        return document


def _canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer past 64 bits: the standard library takes any
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


# Building blocks for the dialects' readers (`Reads` in `proxy.dialects`)


class Builder:
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


def text_of(content: Any, kinds: tuple[str, ...]) -> str:
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


def role_of(role: str) -> Role:
    mapped = {"developer": "system", "system": "system", "user": "user", "assistant": "assistant", "tool": "tool"}
    if role not in mapped:
        raise Unreadable("unsupported_role")
    return mapped[role]  # type: ignore[return-value]


def function_tool(function: dict[str, Any]) -> Tool:
    """An OpenAI function definition as a neutral tool."""
    return Tool(function["name"], function.get("description") or "", function.get("parameters") or {})


# Anthropic's and the Responses API's words for why an answer ended, in Chat Completions' words
FINISH_WORDS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length"}
