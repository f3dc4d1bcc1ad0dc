"""Edits and the offset map they leave behind, so a span of canonical text names the exact span
of the text the client sent.

A transform proposes `Edit`s: replace `[start, end)` of its input by `text`. Every character of
the replacement stands for `source` (by default the replaced span itself): a decoded base64 blob
stands for the whole blob, so an action on any part of what it decodes to covers all of it.
Text outside the edits keeps its characters and only shifts.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Edit:
    """Replace `[start, end)` by `text`; `source` is what the new characters stand for."""

    start: int
    end: int
    text: str
    source: tuple[int, int] | None = None
    #: the text was decoded from an encoding: canonicalise it again (bounded) before it is used
    payload: bool = False


@dataclass(frozen=True)
class Layer:
    """One transform's edits, by their position in its output: `(new_start, new_end, old_start,
    old_end, source_start, source_end)`, sorted and disjoint."""

    spans: list[tuple[int, int, int, int, int, int]]
    _starts: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", [span[0] for span in self.spans])

    def source_of(self, position: int) -> tuple[int, int]:
        """The input span the output character at `position` comes from."""
        index = bisect_right(self._starts, position) - 1
        if index < 0:
            return position, position + 1
        new_start, new_end, _, old_end, source_start, source_end = self.spans[index]
        if position < new_end:
            return source_start, source_end
        shifted = old_end + position - new_end
        return shifted, shifted + 1


def apply_edits(text: str, edits: list[Edit]) -> tuple[str, Layer]:
    """`text` with `edits` (disjoint, any order) applied, and the layer that maps back."""
    pieces: list[str] = []
    spans: list[tuple[int, int, int, int, int, int]] = []
    position = produced = 0
    for edit in sorted(edits, key=lambda e: e.start):
        if edit.start < position:
            continue  # overlaps an earlier edit: the first one wins
        pieces.append(text[position : edit.start])
        produced += edit.start - position
        source = edit.source or (edit.start, edit.end)
        spans.append((produced, produced + len(edit.text), edit.start, edit.end, *source))  # empty: a deletion
        pieces.append(edit.text)
        produced += len(edit.text)
        position = edit.end
    pieces.append(text[position:])
    return "".join(pieces), Layer(spans)


@dataclass(frozen=True)
class OffsetMap:
    """The layers from the original text to the canonical one, first transform first."""

    layers: tuple[Layer, ...] = ()

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that canonical `[start, end)` comes from."""
        if end <= start:
            return start, end
        for layer in reversed(self.layers):
            start, end = layer.source_of(start)[0], layer.source_of(end - 1)[1]
        return start, end
