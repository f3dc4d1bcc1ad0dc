"""Names beside a found name: "In re Marriage of Nasrin Tehrani and Daniel Ruiz", and the other rows
of a pasted list whose row names one person each.

A name the model, the lists and the cues all miss often stands next to one they found: joined by
"and" ("und", "et", "y", "e", "en", "&") or a comma, or in the same field of the next line of a
list without a header ("Amadou Sy - 13,47 - né le ..."); so does the owner of a phone number or an
e-mail address named in brackets after it ("612 448 903 (Nerea)"). Such a neighbour is a name when it is one
to three capitalised words, none of them a common word of the text's language or of English unless
the name lists hold it, none a title and none a town. A header row is the structure recognizer's.

A pure function of the slots and the findings, run once per request right after detection, before
a name is carried to its other mentions (`propagate.py`).
"""

from __future__ import annotations

import re
from dataclasses import replace

from proxy.detection.language import language_of
from proxy.detection.lexicon import is_common_in
from proxy.detection.names import TITLES, name_lists
from proxy.detection.places import is_place
from proxy.detection.public_figures import is_public_figure
from proxy.exchange import Finding, Slot

RECOGNIZER = "beside a name"
SOURCE_MIN_SCORE = 0.5  # only confident names vouch for a neighbour
SCORE = 0.55
_WORD = r"[A-ZÀ-ÖØ-ÞĀ-Ž][^\W\d_]*(?:['’-][^\W\d_]+)*"
_RUN = rf"{_WORD}(?:[ \t]+{_WORD}){{0,2}}"
_JOIN = r"(?:,|[ \t]+(?:and|und|et|y|e|en|&))[ \t]+"
#: a run of capitalised words right before a join that ends where a found name starts ...
_BEFORE = re.compile(rf"(?<![\w'’-])(?P<run>{_RUN}){_JOIN}$")
#: ... and right after a join that starts where a found name ends, ending a list's item: another
#: join, a bracket or the sentence's end follow ("Anna Weber, DOB 12/03/1990" is a label and its value)
_AFTER = re.compile(
    rf"{_JOIN}(?P<run>{_RUN})(?![\w'’-])(?=[ \t]*(?:[,;.)!?]|$|[ \t](?:and|und|et|y|e|en|&)[ \t]))", re.M
)
#: whose owner may follow in brackets ("call 0612 448 903 (Nerea)")
CONTACTS = ("PHONE_NUMBER", "EMAIL_ADDRESS")
CONTACT_MIN_SCORE = 0.4  # a phone number without a cue word scores 0.4 and is still acted on
_BRACKETED = re.compile(rf"[ \t]*\([ \t]*(?P<run>{_RUN})[ \t]*\)")
#: how lists without a header separate their fields
_DELIMITERS = (" - ", " – ", " | ", "\t", "; ")
MIN_ROWS = 3


def siblings(slots: list[Slot], findings: list[Finding]) -> list[Finding]:
    """`findings` plus a PERSON finding for each name joined to a found one or in its list column,
    and for a name in brackets after a phone number or an e-mail address ("612 448 903 (Nerea)")."""
    added: list[Finding] = []
    for index, slot in enumerate(slots):
        here = [f for f in findings if f.slot == index]
        people = [f for f in here if f.entity_type == "PERSON" and f.score >= SOURCE_MIN_SCORE]
        contacts = [f for f in here if f.entity_type in CONTACTS and f.score >= CONTACT_MIN_SCORE]
        if not people and not contacts:
            continue
        language = language_of(slot.text)
        taken = [(f.start, f.end) for f in here]
        beside = [*_joined(slot.text, people), *_same_column(slot.text, people, here), *_bracketed(slot.text, contacts)]
        for start, end in beside:
            value = slot.text[start:end]
            if _free(start, end, taken) and _a_name(value, slot.text, language):
                taken.append((start, end))
                added.append(replace(_template, slot=index, start=start, end=end))
    return findings + added


_template = Finding(slot=0, start=0, end=0, entity_type="PERSON", score=SCORE, recognizer=RECOGNIZER)


def _joined(text: str, people: list[Finding]) -> list[tuple[int, int]]:
    """Spans of the capitalised runs joined to a found name by "and" or a comma."""
    spans = []
    for person in people:
        before = _BEFORE.search(text, max(0, person.start - 80), person.start)
        if before:
            spans.append(before.span("run"))
        after = _AFTER.match(text, person.end)
        if after:
            spans.append(after.span("run"))
    return spans


def _bracketed(text: str, contacts: list[Finding]) -> list[tuple[int, int]]:
    """Spans of the capitalised runs in brackets right after a phone number or an e-mail address."""
    return [match.span("run") for contact in contacts if (match := _BRACKETED.match(text, contact.end))]


def _same_column(text: str, people: list[Finding], found: list[Finding]) -> list[tuple[int, int]]:
    """Spans of the fields of a headerless list that stand in the column of a found name, in rows
    that hold something else found too (a record, not a header row: "Claim No | Policyholder")."""
    spans: list[tuple[int, int]] = []
    for block in _blocks(text):
        cells = _cells(text, block)
        named = {column for column, (start, end) in cells if _is_found(start, end, people)}
        for column, (start, end) in cells:
            row = next(line for line in block if line[0] <= start < line[1])
            others = any(row[0] <= f.start < row[1] and not (f.start < end and start < f.end) for f in found)
            if column in named and others:
                spans.append((start, end))
    return spans


def _blocks(text: str) -> list[list[tuple[int, int, str]]]:
    """Runs of at least `MIN_ROWS` consecutive lines that split into the same number of fields by one
    delimiter; each line as (start offset, end offset, delimiter)."""
    blocks: list[list[tuple[int, int, str]]] = []
    current: list[tuple[int, int, str]] = []
    shape: tuple[str, int] | None = None
    offset = 0
    for line in text.split("\n"):
        delimiter = next((d for d in _DELIMITERS if d in line), None)
        line_shape = (delimiter, line.count(delimiter)) if delimiter else None
        if line_shape is None or line_shape != shape:
            if len(current) >= MIN_ROWS:
                blocks.append(current)
            current = []
        shape = line_shape
        if line_shape is not None and delimiter is not None:
            current.append((offset, offset + len(line), delimiter))
        offset += len(line) + 1
    if len(current) >= MIN_ROWS:
        blocks.append(current)
    return blocks


def _cells(text: str, block: list[tuple[int, int, str]]) -> list[tuple[int, tuple[int, int]]]:
    """(column, span) of each field of each line, without the spaces around it."""
    cells = []
    for start, end, delimiter in block:
        position = start
        for column, field in enumerate(text[start:end].split(delimiter)):
            stripped = field.strip()
            if stripped:
                left = position + field.index(stripped)
                cells.append((column, (left, left + len(stripped))))
            position += len(field) + len(delimiter)
    return cells


def _is_found(start: int, end: int, people: list[Finding]) -> bool:
    return any(p.start <= start and end <= p.end for p in people)


def _free(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return not any(s < end and start < e for s, e in taken)


def _a_name(value: str, text: str, language: str) -> bool:
    """One to three capitalised words, none a title, a town or an unlisted acronym ("DOB", "IBAN"),
    none of three letters or more common unless listed; a two-letter word ("Sy", "Ng") is judged by
    the others."""
    words = value.split()
    if not 1 <= len(words) <= 3 or not re.fullmatch(_RUN, value) or all(len(word) <= 2 for word in words):
        return False
    given, family = name_lists()
    if is_public_figure(value, text, family):
        return False  # "Sundar Pichai and <a name the model found>" in a general question
    for word in words:
        folded = word.casefold()
        listed = folded in given or folded in family
        if folded.rstrip(".") in TITLES or is_place(word) or (word.isupper() and not listed):
            return False
        if len(word) > 2 and not listed and is_common_in(word, "en", language):
            return False
    return True
