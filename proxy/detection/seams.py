"""Values split across slots: "... card 4111 1111" in one content part and "1111 1111" in the
next, or in two consecutive messages of one role. Each slot alone holds no value; read together
they do.

Besides every slot, detection reads one short seam per pair of adjacent slots: the end of the
first and the start of the second, joined by a space (none where a half ends or starts with
`@ . - _ +`, which continue a word) and canonicalised again (the separators
between the halves of a number are only separators once they are joined). A finding that crosses
the join becomes two findings, one in each slot, so both halves are transformed.
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
class Seam:
    """The join of slots `left` and `right`; `cut` is where the right slot's text begins, after
    the `joiner` characters (a space, or none)."""

    left: int
    right: int
    left_start: int  # where the window starts in the left slot's text
    cut: int
    view: Canonical
    joiner: int = 1

    @property
    def slot(self) -> Slot:
        return Slot(("seam", self.left, self.right), self.view.text)


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
    found = []
    for left, right in pairs:
        head, tail = texts[left][-WINDOW:], texts[right][:WINDOW]
        if head.strip() and tail.strip():
            joiner = "" if head[-1] in GLUE or tail[0] in GLUE else " "
            view = canonicalise(head + joiner + tail)
            found.append(Seam(left, right, len(texts[left]) - len(head), len(head) + len(joiner), view, len(joiner)))
    return found


def crossing(seam: Seam, findings: list[Finding]) -> list[Finding]:
    """The seam's findings that cross its join, each as its two halves (slot indexes of the
    seam's pair, spans of their texts); a finding on one side only was found in that slot."""
    halves = []
    for finding in findings:
        start, end = seam.view.original(finding.start, finding.end)
        head = seam.cut - seam.joiner  # where the left slot's text ends
        if start < head and end > seam.cut:
            halves.append(replace(finding, slot=seam.left, start=seam.left_start + start, end=seam.left_start + head))
            halves.append(replace(finding, slot=seam.right, start=0, end=end - seam.cut))
    return halves


def _step(a: str | int | object, b: str | int | object) -> int | None:
    return b - a if isinstance(a, int) and isinstance(b, int) else None


def _role(body: dict[str, Any], path: JSONPath) -> object:
    container, index = path[0], path[1]
    items = body.get(container) if isinstance(container, str) else None
    if not isinstance(items, list) or not isinstance(index, int) or not 0 <= index < len(items):
        return None
    return items[index].get("role") if isinstance(items[index], dict) else None
