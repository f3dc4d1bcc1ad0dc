"""Spans that keep the sentence: a finding covers the value, not the words and marks around it.

NER models often take a neighbouring word into a name ("Email Peter Parker" as one PERSON) and
address recognizers the full stop that ends the sentence ("14 Abbey Road."). Replacing those
spans would swallow the verb or the full stop the vendor needs to read the sentence, and a
name part like "Email" would then be carried to every other mention of the word. So, for the
entity types whose values are words, a finding is trimmed to the value: no sentence
punctuation or unmatched quote or bracket at either end, no possessive `'s`, and for names no
leading imperative or greeting ("Email", "Ask", "Dear", ...). Types whose values are codes
(secrets, ids, numbers) are left alone: a trailing `!` can be part of a password.
"""

from __future__ import annotations

from dataclasses import replace

from proxy.exchange import Finding, Slot

WORDY = frozenset(
    {"PERSON", "LOCATION", "STREET_ADDRESS", "ORGANIZATION", "NRP", "DATE_TIME", "DATE_OF_BIRTH", "TITLE"}
)
LEADING = frozenset(
    "email e-mail mail call phone text message ping contact ask tell thank thanks dear hi hello hey meet "
    "invite remind cc bcc write notify inform reply forward greet welcome congratulate visit attn regards "
    "cheers sincerely signed dm".split()
)
EDGE = ".,;:!?\"'“”‘’«»()[]{}<>*_`"
POSSESSIVES = ("'s", "’s", "'S", "’S")
PAIRS = {")": "(", "]": "[", "}": "{", "”": "“", "’": "‘", "»": "«"}


def trim(slots: list[Slot], findings: list[Finding]) -> list[Finding]:
    """Each finding of a wordy type narrowed to its value; findings left empty are dropped."""
    out = []
    for finding in findings:
        if finding.entity_type not in WORDY:
            out.append(finding)
            continue
        start, end = _trimmed(slots[finding.slot].text, finding.start, finding.end, finding.entity_type == "PERSON")
        if end > start:
            out.append(
                finding if (start, end) == (finding.start, finding.end) else replace(finding, start=start, end=end)
            )
    return out


def _trimmed(text: str, start: int, end: int, name: bool) -> tuple[int, int]:
    while True:
        before = (start, end)
        start, end = _strip_edges(text, start, end)
        value = text[start:end]
        if value.endswith(POSSESSIVES):
            end -= 2
        first, _, rest = value.partition(" ")
        if name and rest.strip() and first.lower().rstrip(",:") in LEADING:
            start += len(first) + 1
            start += len(text[start:end]) - len(text[start:end].lstrip())
        if (start, end) == before:
            return start, end


def _strip_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """Sentence marks, quotes and brackets off both ends; a bracket pair inside the value stays."""
    if end - start > 2 and PAIRS.get(text[end - 1]) == text[start]:  # the whole value in brackets
        start, end = start + 1, end - 1
    while end > start and (text[end - 1].isspace() or (text[end - 1] in EDGE and not _closes(text, start, end))):
        end -= 1
    while end > start and (text[start].isspace() or (text[start] in EDGE and not _opens(text, start, end))):
        start += 1
    return start, end


def _closes(text: str, start: int, end: int) -> bool:
    """Whether the last character closes a bracket opened inside the span ("Smith (Jr)")."""
    opener = PAIRS.get(text[end - 1])
    return opener is not None and opener in text[start : end - 1]


def _opens(text: str, start: int, end: int) -> bool:
    closer = {v: k for k, v in PAIRS.items()}.get(text[start])
    return closer is not None and closer in text[start + 1 : end]
