"""Read a recorded request and its answer, in any dialect, as one neutral `Conversation`: each
dialect that holds a dialogue reads its own records (`proxy.dialects.Reads`); this dispatches.

The request holds the history the client sent; the answer adds the assistant's turn. A stream is
stored already assembled into one answer body, so it reads like any other answer. Anything that
is not text (images, audio, files) makes the record unreadable rather than silently dropped:
training on a conversation with a hole in it teaches the wrong thing.
"""

from __future__ import annotations

from typing import Any

from proxy.dialects import READERS, Reads
from proxy.export.conversation import FINISH_WORDS, Conversation, Unreadable


def _reader(endpoint: str) -> Reads | None:
    return READERS.get(endpoint)  # narrowed once: a runtime Protocol check per record would cost ~50 µs


def read_conversation(endpoint: str, request: Any, response: Any) -> Conversation:
    """The conversation of one record; `Unreadable` (with a skip reason) when there is none."""
    reader = _reader(endpoint)
    if reader is None:
        raise Unreadable("no_conversation")
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise Unreadable("missing_payload")
    try:
        conversation = reader.conversation(request, response)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        raise Unreadable("unreadable") from None
    if not any(m.role == "assistant" for m in conversation.messages):
        raise Unreadable("no_answer")
    return conversation


def finish_reason(endpoint: str, response: Any) -> str | None:
    """Why the answer ended, in Chat Completions' words (stop, length, tool_calls, content_filter)."""
    reader = _reader(endpoint)
    if reader is None:
        return None
    try:
        reason = reader.finish_reason(response)
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return FINISH_WORDS.get(reason, reason) if isinstance(reason, str) else None
