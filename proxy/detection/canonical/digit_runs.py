"""Separators inside numbers: `4111.1111.1111.1111`, `4111_1111_...`, `4 1 1 1 ...`, SSNs with
dots or spaces. A run of 13 to 19 digits (a card's length) is read without its separators; a
run of nine digits grouped 3-2-4, or in groups of at most three (but not a phone number's
3-3-3), is read as an SSN, `123-45-6789`.
Dates, times, IP addresses, phone numbers and version stamps (`4-20250514`) keep their shape:
their recognizers need it, and a four-digit group other than an SSN's last is a year."""

from __future__ import annotations

import re

from proxy.detection.canonical.offsets import Edit

RUN = re.compile(r"(?<![\w.])\d+(?:[\s._\-\u2010-\u2015/\\|]{1,3}\d+)+(?![\w]|\.\d)")
GROUP = re.compile(r"\d+")
CARD_DIGITS = range(13, 20)
SSN_DIGITS = 9
SSN_SHAPE = [3, 2, 4]
PHONE_SHAPE = [3, 3, 3]  # nine digits so grouped are a phone number far more often than an SSN


def edits(text: str) -> list[Edit]:
    found = []
    for run in RUN.finditer(text):
        groups = GROUP.findall(run[0])
        digits, shape = sum(map(len, groups)), [len(group) for group in groups]
        if digits in CARD_DIGITS and max(shape) <= 6:
            dashes: frozenset[int] = frozenset()
        elif digits == SSN_DIGITS and (shape == SSN_SHAPE or (max(shape) <= 3 and shape != PHONE_SHAPE)):
            dashes = SSN_DASHES
        else:
            continue
        found += _regrouped(run.start(), run[0], dashes)
    return [edit for edit in found if text[edit.start : edit.end] != edit.text]


SSN_DASHES = frozenset({3, 5})  # a dash after the third and the fifth digit: 123-45-6789


def _regrouped(offset: int, run: str, dashes: frozenset[int]) -> list[Edit]:
    """Each separator dropped, and a dash after each digit count in `dashes`, edit by edit, so
    every digit keeps its own position in the map."""
    found, count, position = [], 0, 0
    for group in GROUP.finditer(run):
        if group.start() > position:  # the separator before this group
            found.append(Edit(offset + position, offset + group.start(), "-" if count in dashes else ""))
        for index in range(group.start() + 1, group.end()):  # a dash inside a group
            if count + index - group.start() in dashes:
                found.append(Edit(offset + index, offset + index, "-", (offset + index - 1, offset + index + 1)))
        count += group.end() - group.start()
        position = group.end()
    return found
