"""Which language a text is written in, by its function words: enough to know when the English
model is reading another language.

The small English model calls many capitalised German nouns and French or Spanish sentence
openings persons ("Abmahnung", "Bitte Arztbrief", "Redacta el convenio"). Counting the
function words of each language (spaCy's stop-word lists) tells an English prompt from one in
German, French, Spanish, Italian, Dutch, Portuguese or Polish in microseconds, with no model.
"""

from __future__ import annotations

import importlib
import re
from functools import lru_cache

LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl")
_WORD = re.compile(r"[^\W\d_]+")
MIN_WORDS = 2  # fewer function words than this say nothing


@lru_cache(maxsize=1)
def stop_words() -> dict[str, frozenset[str]]:
    """Each language's function words ("die", "la", "van"), spaCy's lists."""
    return {lang: frozenset(importlib.import_module(f"spacy.lang.{lang}.stop_words").STOP_WORDS) for lang in LANGUAGES}


@lru_cache(maxsize=1)
def _stop_words() -> dict[str, frozenset[str]]:
    """The function words that tell the languages apart: those all of them share are left out."""
    words = stop_words()
    shared = frozenset.intersection(*words.values())
    return {lang: w - shared for lang, w in words.items()}


@lru_cache(maxsize=64)
def language_of(text: str) -> str:
    """The language with the most function words in `text`; English when none leads clearly.
    Remembered for the last texts: the model's recognizer and the noise filters both ask."""
    counts = dict.fromkeys(LANGUAGES, 0)
    stop_words = _stop_words()
    for word in _WORD.findall(text.lower()):
        for lang in LANGUAGES:
            counts[lang] += word in stop_words[lang]
    best = max(LANGUAGES, key=lambda lang: counts[lang])
    return best if counts[best] >= MIN_WORDS and counts[best] > counts["en"] else "en"
