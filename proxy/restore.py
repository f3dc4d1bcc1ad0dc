"""The `restore` stage: put original values back where the vendor's answer uses pseudonyms.

A whole JSON body is restored slot by slot. A stream is restored event by event: each text
delta goes through a `Restorer` keyed by where it belongs (a choice's content, one tool call's
arguments), and a restorer is flushed when its choice finishes or the stream ends.
"""

from __future__ import annotations

import json
from typing import Any

from proxy.dialects import Dialect, StreamKey
from proxy.dialects.paths import get_at, set_at, write_slots
from proxy.dialects.sse import SSEEvent
from proxy.transform import Restorer, count_placeholders, json_escape, restore_text


def restore_body(dialect: Dialect, body: dict[str, Any], originals: dict[str, str]) -> dict[str, Any]:
    """The body with pseudonyms restored (the same object when nothing changes)."""
    updates = []
    for slot in dialect.response_slots(body):
        # A slot with a pointer is a decoded JSON leaf: re-encoding the document escapes it.
        text = restore_text(slot.text, originals)
        if text != slot.text:
            updates.append((slot, text))
    return write_slots(body, updates) if updates else body


def unknown_placeholders(dialect: Dialect, returned: dict[str, Any]) -> int:
    """Placeholder-shaped tokens still in the answer the client got (made up or mangled by the model)."""
    return sum(count_placeholders(slot.text) for slot in dialect.response_slots(returned))


class StreamRestorer:
    """Restores one SSE stream and keeps both sides of it for the record."""

    def __init__(self, dialect: Dialect, originals: dict[str, str]) -> None:
        self.dialect = dialect
        self.originals = originals
        self.received: list[str] = []  # the data of each JSON event, as the vendor sent it
        self.returned: list[dict[str, Any]] = []
        self._restorers: dict[StreamKey, Restorer] = {}
        self._template: dict[str, Any] = {}

    def event(self, sse: SSEEvent) -> list[SSEEvent]:
        """What to send the client for one upstream event (possibly with flushed text before it)."""
        tails = self.end() if self.dialect.stream_is_end(sse) else []  # held text goes before the end
        try:
            event = json.loads(sse.data)
        except ValueError:
            return [*tails, sse]
        if not isinstance(event, dict):
            return [*tails, sse]
        self.received.append(sse.data)
        self._template = self._template or event
        changed = self._restore_deltas(event) | self._restore_whole(event)
        before, appended = self._flush_closed(event)
        self.returned += [*before, event]
        out = [*tails, *(self._sse(extra) for extra in before)]
        return [*out, SSEEvent(json.dumps(event), sse.event) if changed or appended else sse]

    def end(self) -> list[SSEEvent]:
        """Events carrying whatever is still held back when the upstream stream ends."""
        tails = []
        for key, restorer in self._restorers.items():
            text = restorer.flush()
            if text:
                event = self.dialect.text_event(self._template, key, text)
                self.returned.append(event)
                tails.append(self._sse(event))
        return tails

    def _sse(self, event: dict[str, Any]) -> SSEEvent:
        return SSEEvent(json.dumps(event), self.dialect.event_name(event))

    def _restore_deltas(self, event: dict[str, Any]) -> bool:
        changed = False
        for delta in self.dialect.stream_deltas(event):
            text = get_at(event, delta.path)
            restored = self._restorer(delta.key, delta.json_string).feed(text)
            if restored != text:
                set_at(event, delta.path, restored)
                changed = True
        return changed

    def _restore_whole(self, event: dict[str, Any]) -> bool:
        """Complete texts a `.done` event repeats are restored whole, like a JSON answer."""
        updates = []
        for slot in self.dialect.stream_whole_slots(event):
            text = restore_text(slot.text, self.originals)
            if text != slot.text:
                updates.append((slot, text))
        if updates:
            event.update(write_slots(event, updates))
        return bool(updates)

    def _flush_closed(self, event: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """Held text of the groups this event closes: added to it, or as events to send before it."""
        before: list[dict[str, Any]] = []
        appended = False
        for group in self.dialect.stream_closes(event):
            for key, restorer in self._restorers.items():
                text = restorer.flush() if key[0] == group else ""
                if text and self.dialect.stream_append(event, key, text):
                    appended = True
                elif text:
                    before.append(self.dialect.text_event(event, key, text))
        return before, appended

    def _restorer(self, key: StreamKey, json_string: bool) -> Restorer:
        if key not in self._restorers:
            self._restorers[key] = Restorer(self.originals, json_escape if json_string else str)
        return self._restorers[key]
