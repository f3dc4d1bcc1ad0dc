"""Values split across slots: "... card 4111 1111" in one content part and "1111 1111" in the
next, or in two consecutive messages of one role. Each slot alone holds no value; read together
they do.

Besides every slot, detection reads one short seam per pair of adjacent slots: the end of the
first and the start of the second (reaching into further neighbours when a slot is short),
joined by a space (none where a part ends or starts with `@ . - _ +`, which continue a word) and
canonicalised again (the separators between the parts of a number are only separators once they
are joined). A finding that crosses a join becomes one finding per slot it covers, so every part
is transformed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from proxy.detection.canonical import Canonical, canonicalise
from proxy.exchange import Finding, JSONPath, Slot

WINDOW = 64  # characters from each side: longer than any value a recognizer finds across a join
GLUE = "@.-_+"  # a half ending or starting with one of these continues a word: joined without a space
CONTAINERS = frozenset({"messages", "input", "system", "contents", "prompt"})


@dataclass(frozen=True)
class Piece:
    """Part of a slot's text inside a seam: `[start, start + length)` of slot `slot`, at `at`."""

    slot: int
    start: int
    at: int
    length: int


@dataclass(frozen=True)
class Seam:
    """The join of two adjacent slots: the end of one, the start of the next (and, when a slot
    is shorter than the window, its neighbours too, so a value split three ways is whole)."""

    pieces: tuple[Piece, ...]
    view: Canonical

    @property
    def slot(self) -> Slot:
        return Slot(("seam", *(piece.slot for piece in self.pieces)), self.view.text)


def adjacent(body: dict[str, Any], slots: list[Slot]) -> list[tuple[int, int]]:
    """Consecutive slots that read as one text: parts of one message, or the last part of a
    message and the first of the next when both have the same role."""
    pairs = []
    for index in range(len(slots) - 1):
        a, b = slots[index].path, slots[index + 1].path
        if slots[index].pointer is not None or slots[index + 1].pointer is not None:
            continue  # values inside JSON documents (tool arguments) stay apart
        if len(a) < 2 or len(b) < 2 or a[0] != b[0] or a[0] not in CONTAINERS:
            continue
        step = _step(a[1], b[1])
        if step == 0 or (step == 1 and _role(body, a[:2]) == _role(body, b[:2])):
            pairs.append((index, index + 1))
    return pairs


def seams(texts: list[str], pairs: list[tuple[int, int]]) -> list[Seam]:
    """The seam of each pair, from the (canonical) texts of the slots."""
    before = {right: left for left, right in pairs}
    after = dict(pairs)
    found = []
    for left, right in pairs:
        chain = _reach(texts, left, before, from_end=True)[::-1] + _reach(texts, right, after, from_end=False)
        if len(chain) > 1:
            found.append(_joined(texts, chain))
    return found


def _reach(texts: list[str], slot: int | None, step: dict[int, int], *, from_end: bool) -> list[tuple[int, int, int]]:
    """`(slot, start, end)` windows from `slot` outwards until WINDOW characters are taken."""
    windows: list[tuple[int, int, int]] = []
    budget = WINDOW
    while slot is not None and budget > 0:
        text = texts[slot]
        if not text.strip():
            break
        take = min(budget, len(text))
        windows.append((slot, len(text) - take, len(text)) if from_end else (slot, 0, take))
        budget -= take
        slot = step.get(slot)
    return windows


def _joined(texts: list[str], chain: list[tuple[int, int, int]]) -> Seam:
    raw, pieces = "", []
    for slot, start, end in chain:
        piece = texts[slot][start:end]
        if raw and not (raw[-1] in GLUE or piece[:1] in tuple(GLUE)):
            raw += " "
        pieces.append(Piece(slot, start, len(raw), end - start))
        raw += piece
    return Seam(tuple(pieces), canonicalise(raw))


def crossing(seam: Seam, findings: list[Finding]) -> list[Finding]:
    """The seam's findings that cross a join, each as its parts (one per slot it covers, on the
    slots' texts); a finding inside one slot was found in that slot already."""
    parts: list[Finding] = []
    for finding in findings:
        start, end = seam.view.original(finding.start, finding.end)
        covered = [p for p in seam.pieces if start < p.at + p.length and p.at < end]
        if len(covered) < 2:
            continue
        for piece in covered:
            first, last = max(start, piece.at) - piece.at, min(end, piece.at + piece.length) - piece.at
            parts.append(replace(finding, slot=piece.slot, start=piece.start + first, end=piece.start + last))
    return parts


def _step(a: str | int | object, b: str | int | object) -> int | None:
    return b - a if isinstance(a, int) and isinstance(b, int) else None


def _role(body: dict[str, Any], path: JSONPath) -> object:
    container, index = path[0], path[1]
    items = body.get(container) if isinstance(container, str) else None
    if not isinstance(items, list) or not isinstance(index, int) or not 0 <= index < len(items):
        return None
    return items[index].get("role") if isinstance(items[index], dict) else None
