"""Wire formats. A dialect knows where a vendor's body keeps its text and how its errors and
streams look, and nothing else: detection, policy and pseudonyms never appear here.

Adding a surface means one module implementing `Dialect` and one entry in `DIALECTS`: the app
mounts its `path`, upstreams of its `upstream_kinds` serve it, and its export reader reads its records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from proxy.dialects.sse import SSEEvent
from proxy.errors import ProxyError
from proxy.exchange import JSONPath, Slot, Usage

if TYPE_CHECKING:
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
    """One wire format (e.g. OpenAI chat): where its text lives, how its streams and errors look."""

    name: str  # as recorded in `requests.endpoint`, e.g. "openai-chat"
    path: str  # the route the proxy serves, e.g. "/v1/chat/completions"
    upstream_path: str  # appended to an upstream's base_url
    restores: bool  # False when nothing comes back to restore (embeddings): pseudonymize acts as redact
    upstream_kinds: frozenset[str]  # the upstream kinds that serve this surface (echo serves all)

    def model(self, body: dict[str, Any]) -> str:
        """The requested model; `BadRequest` when missing."""

    def is_stream(self, body: dict[str, Any]) -> bool:
        """Whether the client asked for a streamed answer."""

    def request_slots(self, body: dict[str, Any]) -> list[Slot]:
        """Every text the vendor would read, in body order; refuses shapes it cannot read."""

    def unscannable_parts(self, body: dict[str, Any]) -> list[JSONPath]:
        """Paths of the parts detection cannot read (images, audio, files), for `unscannable_parts`."""

    def response_slots(self, body: dict[str, Any]) -> list[Slot]:
        """Every text in a whole (non-streamed) answer that may hold placeholders."""

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

    def usage(self, body: dict[str, Any]) -> Usage:
        """Token counts from an answer."""

    def error_body(self, error: ProxyError) -> dict[str, Any]:
        """Our error in this vendor's error shape."""

    def echo_reply(self, model: str, text: str) -> dict[str, Any]:
        """A whole answer saying `text`, for the built-in echo upstream."""

    def echo_events(self, model: str, text: str, chunk_chars: int) -> list[SSEEvent]:
        """A streamed answer saying `text`, for the built-in echo upstream."""


@runtime_checkable
class Reads(Protocol):
    """A dialect whose records hold a dialogue: read as the export's neutral `Conversation`."""

    def conversation(self, request: dict[str, Any], response: dict[str, Any]) -> Conversation:
        """The dialogue of a recorded request and its (assembled) answer; `Unreadable` for
        anything that is not text. Other errors (a missing key, a wrong type) mean unreadable."""

    def finish_reason(self, response: dict[str, Any]) -> Any:
        """Why the answer ended, in this vendor's words (mapped to Chat Completions' by the export)."""


def _registry() -> dict[str, Dialect]:
    from proxy.dialects.anthropic_count_tokens import AnthropicCountTokens
    from proxy.dialects.anthropic_messages import AnthropicMessages
    from proxy.dialects.openai_chat import OpenAIChat
    from proxy.dialects.openai_completions import OpenAICompletions
    from proxy.dialects.openai_embeddings import OpenAIEmbeddings
    from proxy.dialects.openai_responses import OpenAIResponses

    dialects: list[Dialect] = [
        OpenAIChat(),
        OpenAIResponses(),
        OpenAICompletions(),
        OpenAIEmbeddings(),
        AnthropicMessages(),
        AnthropicCountTokens(),
    ]
    return {dialect.name: dialect for dialect in dialects}


DIALECTS: dict[str, Dialect] = _registry()
#: the shape of errors outside any dialect's route (unknown paths, the admin API)
OPENAI_ERRORS: Dialect = DIALECTS["openai-chat"]
ANTHROPIC_ERRORS: Dialect = DIALECTS["anthropic-messages"]
