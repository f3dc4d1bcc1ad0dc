"""The response direction: policy rules with `directions: [response]` applied to what the model
wrote, after pseudonyms are restored (a model can produce personal data on its own).

Whole answers are scanned slot by slot. Streams are scanned a segment at a time: text is held
until a line or sentence ends, so a value is seen whole without holding the stream to its end.
Rules act on message text only, not on tool-call arguments (rewriting those would break the call).
Each piece is scanned by the request's own `Scanner` (`proxy.scan`) in the "response" direction,
which acts as `redact` for `pseudonymize` (nothing in an answer is restored later) and for `block`
(the answer has already begun; it cannot be refused).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from proxy.dialects import Dialect, StreamKey
from proxy.dialects.paths import get_at, set_at, write_slots
from proxy.dialects.sse import SSEEvent
from proxy.exchange import Resolution, Slot
from proxy.policy.bundle import entities_of
from proxy.scan import Scanner

SEGMENT_END = re.compile(r"[\n]|[.!?](?=\s)")


@dataclass
class ResponseGuard:
    scanner: Scanner
    #: what was found in the answer, for the record: (slot, resolution)
    found: list[tuple[Slot, Resolution]] = field(default_factory=list)
    returned: list[dict[str, Any]] = field(default_factory=list)
    _held: dict[StreamKey, str] = field(default_factory=dict)
    _template: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_scanner(cls, scanner: Scanner) -> ResponseGuard | None:
        """A guard when any policy has response rules; None (no cost) otherwise."""
        return cls(scanner) if entities_of(scanner.policies, "response") else None

    async def scan(self, slots: list[Slot]) -> dict[int, str]:
        """New text for the slots that change."""
        result = await self.scanner.scan(slots, "response")
        self.found += [(slots[r.finding.slot], r) for r in [*result.decision.resolutions, *result.decision.monitored]]
        return result.texts

    async def guard_body(self, dialect: Dialect, body: dict[str, Any]) -> dict[str, Any]:
        slots = [slot for slot in dialect.response_slots(body) if slot.pointer is None]  # not tool arguments
        texts = await self.scan(slots)
        return write_slots(body, [(slots[i], text) for i, text in texts.items()]) if texts else body

    async def guard_events(self, dialect: Dialect, events: list[SSEEvent]) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        for sse in events:
            if dialect.stream_is_end(sse):
                out += await self.tails(dialect)
            try:
                event = json.loads(sse.data)
            except ValueError:
                out.append(sse)
                continue
            if isinstance(event, dict):
                before = await self._guard_event(dialect, event)
                self.returned += [*before, event]
                out += [SSEEvent(json.dumps(extra), dialect.event_name(extra)) for extra in before]
                sse = SSEEvent(json.dumps(event), sse.event)
            out.append(sse)
        return out

    async def tails(self, dialect: Dialect) -> list[SSEEvent]:
        """Events for text still held when the stream ends."""
        tails = []
        for key in list(self._held):
            text = await self._scan_text(self._held.pop(key))
            if text:
                event = dialect.text_event(self._template, key, text)
                self.returned.append(event)
                tails.append(SSEEvent(json.dumps(event), dialect.event_name(event)))
        return tails

    async def _guard_event(self, dialect: Dialect, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Scan this event's text segments; returns events to send before it (flushed text)."""
        self._template = self._template or event
        for delta in dialect.stream_deltas(event):
            if not delta.json_string:
                set_at(event, delta.path, await self._scan_text(self._hold(delta.key, get_at(event, delta.path))))
        whole = [slot for slot in dialect.stream_whole_slots(event) if slot.pointer is None]
        texts = await self.scan(whole) if whole else {}
        if texts:  # a `.done` event repeats the whole text: it must say what the deltas said
            event.update(write_slots(event, [(whole[i], text) for i, text in texts.items()]))
        before = []
        for group in dialect.stream_closes(event):
            for key in [k for k in self._held if k[0] == group]:
                text = await self._scan_text(self._held.pop(key))
                if text and not dialect.stream_append(event, key, text):
                    before.append(dialect.text_event(event, key, text))
        return before

    def _hold(self, key: StreamKey, text: str) -> str:
        """The part of the held text that ends a line or sentence; the rest waits."""
        buffer = self._held.get(key, "") + text
        ends = [m.end() for m in SEGMENT_END.finditer(buffer)]
        cut = ends[-1] if ends else 0
        self._held[key] = buffer[cut:]
        return buffer[:cut]

    async def _scan_text(self, text: str) -> str:
        if not text.strip():
            return text
        return (await self.scan([Slot(("response",), text)])).get(0, text)
