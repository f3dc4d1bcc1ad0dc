"""What a dialect does, split by role, so a surface implements only what it supports.

Every surface is a `Dialect`: the request side (its route, its model, where its text lives) and
what every answer has (usage, the error shape, the echo upstream's answer). A surface whose answers
hold text is also `Answers`; one that streams is also `Streams`; one whose records hold a
dialogue is also `Reads`. Embeddings (vectors) and token counting (a number) are only `Dialect`.

The optional roles are runtime-checkable, but checking one costs hundreds of microseconds:
`proxy.dialects` narrows each surface once, into `ANSWERS`, `STREAMS` and `READERS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from proxy.dialects.sse import SSEEvent
from proxy.errors import ProxyError
from proxy.exchange import JSONPath, Slot, Usage
from proxy.export.conversation import Conversation

StreamKey = tuple[int | str, ...]  # first element: the group (choice) a text belongs to


@dataclass(frozen=True)
class StreamDelta:
    """Where one piece of streamed text sits in an event, and which text it continues."""

    key: StreamKey
    path: JSONPath
    #: text inside a JSON string (streamed tool arguments): restored values must be escaped
    json_string: bool = False


class Dialect(Protocol):
    """One wire format's request side (e.g. OpenAI chat), which every surface has: its route,
    its model, where its text lives, its usage and error shapes, and the echo upstream's answer."""

    name: str  # as recorded in `requests.endpoint`, e.g. "openai-chat"
    path: str  # the route the proxy serves, e.g. "/v1/chat/completions"
    upstream_path: str  # appended to an upstream's base_url
    restores: bool  # False when nothing comes back to restore (embeddings): pseudonymize acts as redact
    upstream_kinds: frozenset[str]  # the upstream kinds that serve this surface (echo serves all)

    def model(self, body: dict[str, Any]) -> str:
        """The requested model; `BadRequest` when missing."""

    def request_slots(self, body: dict[str, Any]) -> list[Slot]:
        """Every text the vendor would read, in body order; refuses shapes it cannot read."""

    def unscannable_parts(self, body: dict[str, Any]) -> list[JSONPath]:
        """Paths of the parts detection cannot read (images, audio, files), for `unscannable_parts`."""

    def usage(self, body: dict[str, Any]) -> Usage:
        """Token counts from an answer."""

    def error_body(self, error: ProxyError) -> dict[str, Any]:
        """Our error in this vendor's error shape."""

    def echo_reply(self, model: str, text: str) -> dict[str, Any]:
        """A whole answer saying `text`, for the built-in echo upstream."""


@runtime_checkable
class Answers(Dialect, Protocol):
    """A surface whose answers hold text, which may hold placeholders to restore and is read by
    the response rules (not embeddings' vectors, nor a token count)."""

    def response_slots(self, body: dict[str, Any]) -> list[Slot]:
        """Every text in a whole (non-streamed) answer that may hold placeholders."""


@runtime_checkable
class Streams(Answers, Protocol):
    """A surface that can answer as a stream of server-sent events."""

    def is_stream(self, body: dict[str, Any]) -> bool:
        """Whether the client asked for a streamed answer."""

    def stream_whole_slots(self, event: dict[str, Any]) -> list[Slot]:
        """Complete texts inside a stream event (a `.done` event repeating the whole text)."""

    def stream_deltas(self, event: dict[str, Any]) -> list[StreamDelta]:
        """Where this stream event carries text, and which text it continues."""

    def stream_closes(self, event: dict[str, Any]) -> list[int | str]:
        """Groups (choices) whose text ends with this event, so held-back text is flushed into it."""

    def stream_append(self, event: dict[str, Any], key: StreamKey, text: str) -> bool:
        """Add flushed text for `key` to this closing event; False when this event cannot carry
        text (then `text_event` makes one to send just before it)."""

    def text_event(self, template: dict[str, Any], key: StreamKey, text: str) -> dict[str, Any]:
        """A new event carrying `text` for `key` (flushed text, or text held when the stream ended)."""

    def event_name(self, event: dict[str, Any]) -> str | None:
        """The SSE `event:` name for an event this proxy makes (None: data-only events)."""

    def stream_is_end(self, sse: SSEEvent) -> bool:
        """Whether this event ends the stream: all held text goes out before it."""

    def assemble(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """One whole answer from a stream's events, as it is recorded."""

    def echo_events(self, model: str, text: str, chunk_chars: int) -> list[SSEEvent]:
        """A streamed answer saying `text`, for the built-in echo upstream."""


@runtime_checkable
class Reads(Protocol):
    """A surface whose records hold a dialogue: read as the export's neutral `Conversation`."""

    def conversation(self, request: dict[str, Any], response: dict[str, Any]) -> Conversation:
        """The dialogue of a recorded request and its (assembled) answer; `Unreadable` for
        anything that is not text. Other errors (a missing key, a wrong type) mean unreadable."""

    def finish_reason(self, response: dict[str, Any]) -> Any:
        """Why the answer ended, in this vendor's words (mapped to Chat Completions' by the export)."""
