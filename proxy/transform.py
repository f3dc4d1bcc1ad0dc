"""The `transform` and `restore` stages: rewrite detected values, and put pseudonyms back.

Placeholders follow one grammar, `<ENTITY_TYPE_N>`, numbered per type in order of first
appearance in the request. A conversation resends its history in the same order, so every
turn gets the same tokens without the proxy keeping any state between requests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from proxy.exchange import Resolution, Slot
from proxy.hashing import Hasher, normalise

PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)_(\d+)>")


@dataclass
class PseudonymMap:
    """Placeholder <-> original value for one request."""

    originals: dict[str, str] = field(default_factory=dict)  # token -> first-seen original
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def token_for(self, entity_type: str, value: str) -> str:
        """The placeholder for this value, the same one each time it appears."""
        key = (entity_type, normalise(value))
        if key not in self._tokens:
            self._counts[entity_type] = self._counts.get(entity_type, 0) + 1
            token = f"<{entity_type}_{self._counts[entity_type]}>"
            self._tokens[key] = token
            self.originals[token] = value
        return self._tokens[key]


def transform(slots: list[Slot], resolutions: list[Resolution], hasher: Hasher) -> tuple[dict[int, str], PseudonymMap]:
    """New text for every slot that changes, and the pseudonyms handed out."""
    pseudonyms = PseudonymMap()
    replacements: dict[int, list[tuple[int, int, str]]] = {}
    for resolution in sorted(resolutions, key=lambda r: (r.finding.slot, r.finding.start)):
        finding = resolution.finding
        value = slots[finding.slot].text[finding.start : finding.end]
        new = _replacement(resolution, value, pseudonyms, hasher)
        if new != value:
            replacements.setdefault(finding.slot, []).append((finding.start, finding.end, new))
    texts = {index: _splice(slots[index].text, spans) for index, spans in replacements.items()}
    return texts, pseudonyms


def _replacement(resolution: Resolution, value: str, pseudonyms: PseudonymMap, hasher: Hasher) -> str:
    entity = resolution.finding.entity_type
    match resolution.action:
        case "allow":
            return value
        case "mask":
            return mask(value, resolution.keep_last)
        case "pseudonymize":
            return pseudonyms.token_for(entity, value)
        case "hash":
            return f"<{entity}#{hasher.short(value)}>"
        case _:  # redact, and block should a blocked request ever get here
            return f"<{entity}>"


def mask(value: str, keep_last: int) -> str:
    """Star every letter and digit but the last `keep_last`; separators stay, so a masked card
    number still reads as one: `****-****-****-1234`. A value too short to keep anything is
    starred whole: showing all of it would not be masking."""
    alnum_positions = [i for i, char in enumerate(value) if char.isalnum()]
    shown = keep_last if len(alnum_positions) > keep_last else 0
    hidden = set(alnum_positions[: len(alnum_positions) - shown])
    return "".join("*" if i in hidden else char for i, char in enumerate(value))


def _splice(text: str, spans: list[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def json_escape(value: str) -> str:
    """A value as it must appear inside a JSON string (tool-call arguments)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _identity(value: str) -> str:
    return value


class Restorer:
    """Puts original values back into text that arrives in pieces (an SSE stream).

    A placeholder can be split across any number of chunks, so `feed` holds back a tail only
    while it is still the beginning of a known placeholder; any other text goes out at once.
    `flush` releases what is left when the stream ends, restored where complete.
    """

    def __init__(self, originals: dict[str, str], escape: Callable[[str], str] = _identity) -> None:
        self.originals = originals
        self.escape = escape
        self._buffer = ""
        self._prefixes = {token[:i] for token in originals for i in range(1, len(token))}
        self._longest = max((len(token) for token in originals), default=0)

    def feed(self, text: str) -> str:
        """Restored text that is safe to send now; a possible placeholder start is held back."""
        if not self.originals:
            return self._restore(text)
        self._buffer += text
        cut = self._hold_from()
        ready, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return self._restore(ready)

    def flush(self) -> str:
        """Everything still held back, restored where complete: the stream has ended."""
        ready, self._buffer = self._buffer, ""
        return self._restore(ready)

    def _hold_from(self) -> int:
        """Index where a possible placeholder start begins, or the buffer's end."""
        buffer = self._buffer
        start = max(len(buffer) - self._longest + 1, 0)
        position = buffer.find("<", start)
        while position != -1:
            if buffer[position:] in self._prefixes:
                return position
            position = buffer.find("<", position + 1)
        return len(buffer)

    def _restore(self, text: str) -> str:
        if "<" not in text:
            return text
        return PLACEHOLDER.sub(self._substitute, text)

    def _substitute(self, match: re.Match[str]) -> str:
        token = match.group(0)
        return self.escape(self.originals[token]) if token in self.originals else token


def restore_text(text: str, originals: dict[str, str]) -> str:
    """Restore a complete text; placeholders not in `originals` are left as they are."""
    restorer = Restorer(originals)
    return restorer.feed(text) + restorer.flush()


def count_placeholders(text: str) -> int:
    """Placeholders left in text after restoration: ones the model made up or mangled."""
    return len(PLACEHOLDER.findall(text))
