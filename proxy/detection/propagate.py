"""Carry a detected name to its other mentions in the same request.

A conversation names someone in full once ("New case: Anna Kowalczyk") and then says "Kowalczyk",
"anna" or "KOWALCZYK" in later turns, where nothing marks the word as a name. Every slot of a
request is one conversation, so each part of a detected PERSON is looked for, as a whole word in
any case, in every slot. The local part of a detected e-mail address counts too: in
"anna.kowalczyk@..." the parts that are known names, or that the text also writes capitalised,
are that person's name.

A pure function of the slots and the findings, run once per request right after detection.
"""

from __future__ import annotations

import re
from dataclasses import replace

from proxy.detection.names import PARTICLES, TITLES, is_common, name_lists
from proxy.exchange import Finding, Slot

SOURCE_MIN_SCORE = 0.5  # only confident names spread, so one false alarm does not multiply
PART = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
RECOGNIZER = "propagated"
SOURCES = ("PERSON", "EMAIL_ADDRESS")


def propagate(slots: list[Slot], findings: list[Finding]) -> list[Finding]:
    """`findings` plus a PERSON finding for every other mention of a detected name's parts."""
    parts: dict[str, float] = {}
    for finding in findings:
        value = slots[finding.slot].text[finding.start : finding.end]
        if finding.entity_type == "PERSON" and finding.score >= SOURCE_MIN_SCORE:
            for part in _name_parts(value):
                parts[part] = max(parts.get(part, 0.0), finding.score)
        elif finding.entity_type == "EMAIL_ADDRESS":
            for part in _email_name_parts(value, slots):
                parts.setdefault(part, 0.6)
    if not parts:
        return findings
    pattern = re.compile(
        r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, parts), key=len, reverse=True)) + r")(?!\w)", re.I
    )
    added: list[Finding] = []
    for index, slot in enumerate(slots):
        # Only a name or an address already found there makes a mention redundant: a LOCATION a
        # monitor-mode rule asked for must not hide the name from the rules that enforce.
        taken = [(f.start, f.end) for f in findings if f.slot == index and f.entity_type in SOURCES]
        for match in pattern.finditer(slot.text):
            if any(start < match.end() and match.start() < end for start, end in taken):
                continue
            score = parts[match[0].casefold()]
            added.append(replace(_template, slot=index, start=match.start(), end=match.end(), score=score))
    return findings + added


_template = Finding(slot=0, start=0, end=0, entity_type="PERSON", score=0.0, recognizer=RECOGNIZER)


def _name_parts(value: str) -> set[str]:
    return {
        part.casefold()
        for part in PART.findall(value)
        if len(part) > 2 and part.casefold() not in PARTICLES and part.casefold() not in TITLES and not is_common(part)
    }


def _email_name_parts(address: str, slots: list[Slot]) -> set[str]:
    given, family = name_lists()
    local = address.split("@", 1)[0]
    found = set()
    for part in re.split(r"[._+\-\d]+", local):
        folded = part.casefold()
        if len(folded) < 3 or is_common(folded):
            continue
        capitalised = re.compile(rf"(?<!\w){re.escape(part.capitalize())}(?!\w)")
        if folded in given or folded in family or any(capitalised.search(slot.text) for slot in slots):
            found.add(folded)
    return found
