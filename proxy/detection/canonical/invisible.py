"""Characters that render as nothing: zero-width space, joiners (U+200B-U+200D), word joiner
(U+2060), soft hyphen (U+00AD), BOM (U+FEFF), bidi controls and every other format (Cf)
character, variation selectors, the combining grapheme joiner and the Hangul fillers. Inside a
value they only break it up."""

from __future__ import annotations

import regex

from proxy.detection.canonical.offsets import Edit

INVISIBLE = regex.compile(r"[\p{Cf}\p{Variation_Selector}\u034f\u115f\u1160\u3164\uffa0]+")


def edits(text: str) -> list[Edit]:
    if text.isascii():
        return []
    return [Edit(match.start(), match.end(), "") for match in INVISIBLE.finditer(text)]
