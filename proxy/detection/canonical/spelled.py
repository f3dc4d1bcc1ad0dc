"""Values spelled out in words: "four one one one ..." for a card or an SSN, and
"jane dot doe at example dot org" for an e-mail address."""

from __future__ import annotations

import re

from proxy.detection.canonical.offsets import Edit
from proxy.detection.common_words import COMMON_WORDS

DIGITS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_NUMBER = r"(?:" + "|".join(DIGITS) + r"|\d+)"
# nine or more digits written as words (and digits): the length of an SSN, a card, an account
NUMBER_RUN = re.compile(rf"\b{_NUMBER}(?:[\s,-]+{_NUMBER}){{8,}}\b", re.IGNORECASE)
NUMBER_WORD = re.compile(r"[a-z]+", re.IGNORECASE)
GAP = re.compile(r"[\s,-]+")
MIN_WORDS = 3  # fewer, and the run is written in digits: `digit_runs` reads that

# Bounded repetitions (a label's 63 characters, eight labels a side): with open ones, a long
# "a.a.a..." or "1-1-1..." costs quadratic time, each start scanning to the end to fail there.
_LABEL = r"[a-z0-9][a-z0-9_+-]{0,62}"
_DOT = r"(?:\s*[(\[{]\s*dot\s*[)\]}]\s*|\s+dot\s+|\.)"
_AT = r"(?:\s*[(\[{]\s*at\s*[)\]}]\s*|\s+at\s+|\s*@\s*)"
EMAIL = re.compile(
    rf"\b{_LABEL}(?:{_DOT}{_LABEL}){{0,8}}{_AT}{_LABEL}(?:{_DOT}{_LABEL}){{0,8}}{_DOT}[a-z]{{2,63}}\b", re.I
)
SPELLED_MARKER = re.compile(r"[(\[{\s]\s*(?:at|dot)\s*[)\]}\s]", re.IGNORECASE)  # no address is spelled without one
MARKER = re.compile(rf"{_AT}|{_DOT}", re.IGNORECASE)
# mailboxes that are also common words: "support at acme dot com" is an address
MAILBOXES = frozenset(
    "info sales support contact billing noreply jobs careers press marketing legal hr admin mail".split()
)


def edits(text: str) -> list[Edit]:
    return _numbers(text) + _emails(text)


def _numbers(text: str) -> list[Edit]:
    """Each number word as its digit, and the commas and dashes between them as one space, so
    `digit_runs` then reads the digits as one number."""
    found = []
    for run in NUMBER_RUN.finditer(text):
        words = [w for w in NUMBER_WORD.finditer(run[0]) if w[0].lower() in DIGITS]
        if len(words) < MIN_WORDS:
            continue
        start = run.start()
        found += [Edit(start + w.start(), start + w.end(), DIGITS[w[0].lower()]) for w in words]
        found += [Edit(start + s.start(), start + s.end(), " ") for s in GAP.finditer(run[0]) if s[0] != " "]
    return found


def _emails(text: str) -> list[Edit]:
    if not SPELLED_MARKER.search(text):
        return []
    found = []
    for match in EMAIL.finditer(text):
        markers = [m for m in MARKER.finditer(match[0]) if m[0] not in (".", "@")]
        if not markers or _prose(match[0], markers):
            continue
        start = match.start()
        for marker in markers:
            sign = "@" if "at" in marker[0].lower() else "."
            found.append(Edit(start + marker.start(), start + marker.end(), sign))
    return found


def _prose(candidate: str, markers: list[re.Match[str]]) -> bool:
    """A plain " at " that reads as English: with no spelled " dot " ("look at acme.com"), or
    after a common word that is no mailbox ("look at github dot com")."""
    at = next((m for m in markers if m[0].strip().lower() == "at"), None)
    if at is None:
        return False  # "(at)", "[at]" or "@": meant as an address
    local = candidate[: at.start()].lower()
    return len(markers) == 1 or (local in COMMON_WORDS and local not in MAILBOXES)
