"""Unicode compatibility forms folded (NFKC): full-width `４１１１` and `＠`, ligatures, circled
and superscript digits; decimal digits of every script as ASCII digits."""

from __future__ import annotations

import re
import unicodedata

from proxy.detection.canonical.offsets import Edit

# a character with its combining marks, so a decomposed "u" + U+0308 composes to "ü"
CLUSTER = re.compile(r"[^\x00-\x7f][\u0300-\u036f]*|.[\u0300-\u036f]+", re.DOTALL)


def edits(text: str) -> list[Edit]:
    if text.isascii():
        return []
    found = []
    for match in CLUSTER.finditer(text):
        folded = _fold(match[0])
        if folded != match[0]:
            found.append(Edit(match.start(), match.end(), folded))
    return found


def _fold(cluster: str) -> str:
    folded = unicodedata.normalize("NFKC", cluster)
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in folded)
