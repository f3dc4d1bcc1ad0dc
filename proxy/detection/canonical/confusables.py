"""Letters that look Latin but are not (a Cyrillic `а` inside an e-mail address), folded to the
Latin letter they imitate, from the Unicode confusables data (`confusable-homoglyphs`).

Only inside a word that also holds ASCII letters, digits or `@`, or one that is made wholly of
look-alikes: a word written in Greek or Cyrillic is left as it is."""

from __future__ import annotations

import re
from functools import lru_cache

from confusable_homoglyphs import confusables

from proxy.detection.canonical.offsets import Edit

WORD = re.compile(r"[^\s\"'<>()\[\]{},;]+")


@lru_cache(maxsize=1)
def _latin() -> dict[str, str]:
    """Every non-ASCII character the data says imitates an ASCII letter, digit or sign."""
    table: dict[str, str] = {}
    for char, homoglyphs in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_like = [h["c"] for h in homoglyphs if len(h["c"]) == 1 and h["c"].isascii() and h["c"].isprintable()]
        if ascii_like:
            table[char] = ascii_like[0]
    return table


def edits(text: str) -> list[Edit]:
    if text.isascii():
        return []
    table = _latin()
    found = []
    for match in WORD.finditer(text):
        word = match[0]
        if word.isascii():
            continue
        foreign = [char for char in word if not char.isascii()]
        if not any(char in table for char in foreign):
            continue
        anchored = any(char.isalnum() or char == "@" for char in word if char.isascii())
        if anchored or all(char in table for char in foreign):
            start = match.start()
            found += [Edit(start + i, start + i + 1, table[c]) for i, c in enumerate(word) if c in table]
    return found
