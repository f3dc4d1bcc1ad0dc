"""One processor per answer: every piece of the answer's text goes through the same ordered
filters (restore, then the response guard), whole (`AnswerProcessor`, on a surface whose answers
hold text) or streamed (`StreamProcessor`, on a surface that streams).

In a stream the processor keeps, per filter and per stream key (a choice's content, one tool
call's arguments), the text that filter is not ready to pass on yet. Held text is flushed, through
the remaining filters, when its choice closes or the stream ends; the flushed text rides on the
closing event when the dialect allows, or in an event of its own just before it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import orjson

from proxy.dialects import Answers, StreamKey, Streams
from proxy.dialects.paths import get_at, set_at, write_slots
from proxy.dialects.sse import SSEEvent
from proxy.exchange import JSONPath, Slot


class Piece(NamedTuple):
    """Some text of the answer and what kind of text it is (a tuple: one is made per stream delta)."""

    text: str
    path: JSONPath = ("response",)  # where it sits, as recorded with a finding
    arguments: bool = False  # tool-call arguments (the guard leaves them: rewriting breaks the call)
    escaped: bool = False  # the inside of a JSON string as sent (streamed arguments): values are escaped
    before: str = ""  # in a stream, the character this filter passed on just before this text


class Filter(Protocol):
    """One step over the answer's text."""

    def passes(self, text: str, kind: Piece) -> bool:
        """Whether `text` goes on as it is when nothing is held (a cheap test run on every delta)."""

    def ready(self, held: str, kind: Piece, before: str) -> int:
        """How much of `held` (the text this filter holds for one stream key) can go on now;
        `before` is the character this filter passed on just before it."""

    async def apply(self, pieces: list[Piece]) -> list[str]:
        """The new text of each piece (complete texts, or the ready part of a stream's text)."""


class AnswerProcessor:
    """Runs `filters` over the texts of one whole answer."""

    def __init__(self, dialect: Answers, filters: list[Filter]) -> None:
        self.answers, self.filters = dialect, filters

    async def body(self, body: dict[str, Any]) -> dict[str, Any]:
        """A whole answer with every filter applied (the same object when nothing changes)."""
        return await self.whole(body, self.answers.response_slots(body))

    async def whole(self, body: dict[str, Any], slots: list[Slot]) -> dict[str, Any]:
        """`body` with the complete texts at `slots` through every filter (the same object when nothing changes)."""
        if not slots:
            return body
        pieces = [Piece(slot.text, slot.path, arguments=slot.pointer is not None) for slot in slots]
        texts = [piece.text for piece in pieces]
        for step in self.filters:
            texts = await step.apply([Piece(text, p.path, p.arguments) for text, p in zip(texts, pieces, strict=True)])
        updates = [(slot, text) for slot, text in zip(slots, texts, strict=True) if text != slot.text]
        return write_slots(body, updates) if updates else body


class StreamProcessor(AnswerProcessor):
    """Runs `filters` over one streamed answer, event by event, and keeps both sides of it for the record."""

    def __init__(self, dialect: Streams, filters: list[Filter]) -> None:
        super().__init__(dialect, filters)
        self.dialect = dialect
        self.received: list[str] = []  # the data of each JSON event, as the vendor sent it
        self.returned: list[dict[str, Any]] = []  # each event as the client got it
        self._held: dict[tuple[int, StreamKey], str] = {}  # per filter and key: text not yet passed on
        self._before: dict[tuple[int, StreamKey], str] = {}  # per filter and key: the last character passed on
        #: per key, the last text every filter passed on unchanged (newer than `_before`, until `_pass` reads it)
        self._passed: dict[StreamKey, str] = {}
        self._kinds: dict[StreamKey, Piece] = {}  # per stream key, what kind of text it carries
        self._template: dict[str, Any] = {}
        #: whether every filter passes a delta as it is: with one filter (the usual case), its own
        #: test, called directly (this runs on every delta)
        self._all_pass: Callable[[str, Piece], bool] = filters[0].passes if len(filters) == 1 else self._every_pass

    async def event(self, sse: SSEEvent) -> list[SSEEvent]:
        """What to send the client for one upstream event (held text may go out before it)."""
        tails = await self.end() if self.dialect.stream_is_end(sse) else []  # held text goes before the end
        try:
            event = decode(sse.data)
        except ValueError:
            return [*tails, sse]
        if not isinstance(event, dict):
            return [*tails, sse]
        self.received.append(sse.data)
        self._template = self._template or event
        changed = await self._deltas(event)
        whole = await self.whole(event, self.dialect.stream_whole_slots(event))
        if whole is not event:  # a `.done` event repeats the whole text: it must say what the deltas said
            event.update(whole)
            changed = True
        before, appended = await self._close(event)
        self.returned += [*before, event]
        out = [*tails, *(self._sse(extra) for extra in before)]
        return [*out, SSEEvent(encode(event), sse.event) if changed or appended else sse]

    async def end(self) -> list[SSEEvent]:
        """Events carrying whatever is still held when the upstream stream ends."""
        tails = []
        for key in list(self._kinds):
            text = await self._flush(key)
            if text:
                event = self.dialect.text_event(self._template, key, text)
                self.returned.append(event)
                tails.append(self._sse(event))
        return tails

    def _sse(self, event: dict[str, Any]) -> SSEEvent:
        return SSEEvent(encode(event), self.dialect.event_name(event))

    async def _deltas(self, event: dict[str, Any]) -> bool:
        changed = False
        for delta in self.dialect.stream_deltas(event):
            text = get_at(event, delta.path)
            kind = self._kinds.get(delta.key)
            if kind is None:
                kind = self._kinds[delta.key] = Piece("", arguments=delta.json_string, escaped=delta.json_string)
            if not self._held and self._all_pass(text, kind):
                if text:  # the common case: nothing held, nothing to change; `_pass` reads it if needed
                    self._passed[delta.key] = text
                continue
            out = await self._pass(delta.key, kind, text)
            if out != text:
                set_at(event, delta.path, out)
                changed = True
        return changed

    async def _pass(self, key: StreamKey, kind: Piece, text: str, flush: bool = False) -> str:
        """`text` through every filter; each keeps back what it is not ready to pass on (unless flushing)."""
        passed = self._passed.pop(key, "")
        if passed:  # every filter passed this on last: it ends what each has passed on
            for index in range(len(self.filters)):
                self._before[(index, key)] = passed[-1]
        for index, step in enumerate(self.filters):
            at = (index, key)
            before = self._before.get(at, "")
            if not flush and at not in self._held and step.passes(text, kind):
                if text:
                    self._before[at] = text[-1]
                continue
            held = self._held.pop(at, "") + text
            cut = len(held) if flush else step.ready(held, kind, before)
            if cut < len(held):
                self._held[at] = held[cut:]
            if cut:
                self._before[at] = held[cut - 1]
            ready = Piece(held[:cut], kind.path, kind.arguments, kind.escaped, before)
            text = (await step.apply([ready]))[0] if cut else ""
        return text

    def _every_pass(self, text: str, kind: Piece) -> bool:
        for step in self.filters:  # a loop, not all(): this runs on every delta
            if not step.passes(text, kind):
                return False
        return True

    async def _flush(self, key: StreamKey) -> str:
        return await self._pass(key, self._kinds[key], "", flush=True)

    async def _close(self, event: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """Held text of the groups this event closes: added to it, or as events to send before it."""
        before: list[dict[str, Any]] = []
        appended = False
        for group in self.dialect.stream_closes(event):
            for key in [key for key in self._kinds if key[0] == group]:
                text = await self._flush(key)
                if text and self.dialect.stream_append(event, key, text):
                    appended = True
                elif text:
                    before.append(self.dialect.text_event(event, key, text))
        return before, appended


def decode(data: str) -> Any:
    """An event's JSON: orjson, several times faster than `json.loads` (this runs on every event of
    every stream); `json.loads` for what orjson refuses but the client's SDK would read (NaN, an
    integer wider than 64 bits, a lone surrogate). Raises ValueError on what is no JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def encode(event: dict[str, Any]) -> str:
    """An event's JSON for the wire: orjson, about 15 times faster than `json.dumps` on the
    events a stream re-encodes (text that changed or was held back); `json.dumps` for what
    orjson refuses (an integer wider than 64 bits, a lone surrogate)."""
    try:
        return orjson.dumps(event).decode()
    except TypeError:
        return json.dumps(event)
