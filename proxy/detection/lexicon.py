"""How common a word is in a language: what tells "Lieferung", "Formula" or "la cuota" from a name.

wordfreq's small lists (about 30,000 words per language, from Wikipedia, subtitles, news, web and
social text) give each word's frequency; a word seen at least twice in a million words
(`COMMON_ZIPF`) is a common word of that language. Frequent names are in those lists too ("Smith",
"Maria"), so a common word is no evidence *against* a name that the name lists know; it only says
a capitalised word is not, by itself, evidence *for* one. Each language's list is loaded on first
use (about 6 MB and 60 ms each).
"""

from __future__ import annotations

import math
from functools import cache

import wordfreq

COMMON_ZIPF = 3.3  # log10 of occurrences per billion words: 3.3 is twice in a million


@cache
def _frequencies(language: str) -> dict[str, float]:
    return wordfreq.get_frequency_dict(language, wordlist="small")


def zipf(word: str, language: str) -> float:
    """The word's Zipf frequency in `language` (0 when the list lacks it)."""
    frequency = _frequencies(language).get(word.casefold())
    return math.log10(frequency * 1e9) if frequency else 0.0


def is_common_in(word: str, *languages: str) -> bool:
    """A common word of any of `languages`."""
    return any(zipf(word, language) >= COMMON_ZIPF for language in dict.fromkeys(languages))
