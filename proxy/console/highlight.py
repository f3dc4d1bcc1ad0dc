"""Where each finding landed in the forwarded text, so a page can mark it without showing the
original.

The forwarded text is the original with each finding's span replaced (or kept), and the text
between findings is untouched. So the original is needed only to *place* the marks, on the
server: the page receives pieces of the forwarded text, each marked or not, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A finding in the original text: where, and what the page says about it."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Segment:
    """A piece of the forwarded text; `label` is set when a finding produced it."""

    text: str
    label: str | None = None


def highlight(original: str, forwarded: str, spans: list[Span]) -> list[Segment] | None:
    """The forwarded text cut into marked and unmarked pieces; None when it cannot be explained
    as the original with the spans rewritten (then show it unmarked)."""
    groups = _merge(spans)
    segments: list[Segment] = []
    position, consumed = 0, 0  # in the forwarded text, in the original
    for index, (start, end, label) in enumerate(groups):
        gap = original[consumed:start]
        if not forwarded.startswith(gap, position):
            return None
        position += len(gap)
        segments.append(Segment(gap))
        following = original[end : groups[index + 1][0]] if index + 1 < len(groups) else None
        if following is None:  # the last rewrite ends where the untouched tail begins
            tail = original[end:]
            stop = len(forwarded) - len(tail)
            if stop < position or not forwarded.endswith(tail):
                return None
        else:
            found = forwarded.find(following, position)
            if found < 0:
                return None
            stop = found
        segments.append(Segment(forwarded[position:stop], label))
        position, consumed = stop, end
    if not groups:
        return [Segment(forwarded)] if forwarded == original else None
    segments.append(Segment(forwarded[position:]))
    return [segment for segment in segments if segment.text]


def _merge(spans: list[Span]) -> list[tuple[int, int, str]]:
    """Overlapping or touching spans as one rewrite, their labels joined (a rewrite covers all of
    them, and with no text between them their borders cannot be told apart)."""
    merged: list[tuple[int, int, str]] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and span.start <= merged[-1][1]:
            start, end, label = merged[-1]
            labels = label if span.label in label.split("; ") else f"{label}; {span.label}"
            merged[-1] = (start, max(end, span.end), labels)
        else:
            merged.append((span.start, span.end, span.label))
    return merged
