"""Canonical text: what detection reads instead of what the client wrote.

An evasion writes a value so that a detector does not see it while a model still does: with
zero-width characters inside, full-width digits, Cyrillic look-alikes, JSON escapes, URL or
base64 encoding, separators inside a number, or the digits spelled out. Each module here undoes
one of those as a list of `Edit`s; `canonicalise` applies them in order and keeps the
`OffsetMap`, so every finding names the exact span of the original text, and the action applies
to what the client sent (for an encoded segment: the whole segment).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from proxy.detection.canonical import (
    base64_blobs,
    confusables,
    data_urls,
    digit_runs,
    escapes,
    invisible,
    nfkc,
    percent,
    spelled,
)
from proxy.detection.canonical.offsets import Edit, Layer, OffsetMap, apply_edits

__all__ = ["Canonical", "OffsetMap", "canonicalise"]

#: decoders first (their output is text like any other), then the character-level folds, then
#: the value-level readings that need folded text
TRANSFORMS: tuple[Callable[[str], list[Edit]], ...] = (
    escapes.edits,
    percent.edits,
    data_urls.edits,
    base64_blobs.edits,
    invisible.edits,
    nfkc.edits,
    confusables.edits,
    spelled.edits,
    digit_runs.edits,
)
MAX_DEPTH = 2  # an encoding inside an encoding inside the text; deeper is left encoded


@dataclass(frozen=True)
class Canonical:
    """A text as detection reads it, and the map back to the original."""

    text: str
    offsets: OffsetMap

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that `[start, end)` of this text comes from."""
        return self.offsets.original(start, end)


def canonicalise(text: str, depth: int = 0) -> Canonical:
    """`text` with every transform applied; identical text and an empty map when none applies."""
    layers: list[Layer] = []
    for transform in TRANSFORMS:
        edits = transform(text)
        if not edits:
            continue
        if any(edit.payload for edit in edits):
            edits = [_decoded(edit, depth) for edit in edits]
        text, layer = apply_edits(text, edits)
        layers.append(layer)
    return Canonical(text, OffsetMap(tuple(layers)))


def _decoded(edit: Edit, depth: int) -> Edit:
    """A decoded payload, itself canonicalised (it may hold another encoding) while depth allows;
    all of it stands for the edit's source, so the inner map is not needed."""
    if not edit.payload or depth >= MAX_DEPTH:
        return edit
    return Edit(edit.start, edit.end, canonicalise(edit.text, depth + 1).text, edit.source)
