"""Score what the vendor would receive against the gold spans: leaks, over-redaction, untouched negatives.

- A gold value *leaks* when the vendor would still read it in the same message: verbatim, or with
  only its letters and digits compared (`+49 30 1234` sent as `+49301234`). Names and addresses
  leak by part: a surname left beside a pseudonymised first name is a leak, and so is the street
  line of an address whose town was removed. A blocked request sends nothing, so it leaks nothing.
- *Over-redaction* is the share of words outside every gold span that a non-allow action covers.
- A hard negative (a case with no personal data) is *changed* when anything about it would differ:
  a transformed word or a block.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from proxy.evaluation.cases import FREE_TEXT, STRUCTURED, Case, Span
from proxy.scan import Scan

WORD = re.compile(r"\w+")
NAME_PART = re.compile(r"[^\W\d_][\w'-]*")
# Words in a name or an address that do not identify anyone on their own.
NOT_IDENTIFYING = frozenset("mr mrs ms dr prof van von der de da del della di du le la los las dos das y e and".split())
TARGETS = {"structured_leak": 0.01, "free_text_leak": 0.05, "over_redaction": 0.02, "negatives_untouched": 0.90}


@dataclass
class CaseScore:
    case: Case
    leaked: list[Span]
    words: int
    altered_words: int
    changed: bool
    blocked: bool


def score_case(case: Case, run: Scan) -> CaseScore:
    blocked = run.forwarded is None
    leaked = (
        [] if run.forwarded is None else [s for s in case.spans if _leaks(s, _forwarded_text(run.forwarded, s.message))]
    )
    words, altered = _word_counts(case, run)
    changed = blocked or run.forwarded != case.body
    return CaseScore(case, leaked, words, altered, changed, blocked)


def _forwarded_text(body: dict[str, Any], message: int) -> str:
    content = body["messages"][message].get("content")
    return content if isinstance(content, str) else ""


def probes(span: Span) -> list[str]:
    """The parts of a gold value whose presence in the forwarded text counts as a leak."""
    if span.type == "PERSON":
        return [p for p in NAME_PART.findall(span.value) if len(p) > 1 and p.lower() not in NOT_IDENTIFYING]
    if span.type == "STREET_ADDRESS":
        return [span.value, span.value.split(", ")[0]]
    return [span.value]


def _leaks(span: Span, forwarded: str) -> bool:
    for probe in probes(span):
        if re.search(rf"(?<!\w){re.escape(probe)}(?!\w)", forwarded):
            return True
    compact = _alnum(span.value)
    return sum(c.isdigit() for c in compact) >= 5 and compact in _alnum(forwarded)


def _alnum(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def _word_counts(case: Case, run: Scan) -> tuple[int, int]:
    """(words outside gold spans, how many of them a non-allow action covers), over message contents."""
    covered: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for resolution in run.decision.resolutions:
        if resolution.action == "allow":
            continue
        message = message_of(run.slots[resolution.finding.slot].path)
        if message is not None:
            covered[message].append((resolution.finding.start, resolution.finding.end))
    gold: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for span in case.spans:
        gold[span.message].append((span.start, span.end))
    words = altered = 0
    for index, message in enumerate(case.body["messages"]):
        if not isinstance(message.get("content"), str):
            continue
        for match in WORD.finditer(message["content"]):
            if _overlaps(match.span(), gold[index]):
                continue
            words += 1
            altered += _overlaps(match.span(), covered[index])
    return words, altered


def message_of(path: tuple[Any, ...]) -> int | None:
    """The message index of a slot that is a message's whole text content, else None."""
    if len(path) == 3 and path[0] == "messages" and path[2] == "content" and isinstance(path[1], int):
        return path[1]
    return None


def _overlaps(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in others)


@dataclass
class Tally:
    spans: int = 0
    leaked: int = 0
    cases: int = 0
    words: int = 0
    altered: int = 0
    negatives: int = 0
    negatives_changed: int = 0

    def add(self, score: CaseScore, spans: list[Span] | None = None) -> None:
        counted = score.case.spans if spans is None else spans
        self.spans += len(counted)
        self.leaked += sum(s in score.leaked for s in counted)
        self.cases += 1
        self.words += score.words
        self.altered += score.altered_words
        if score.case.hard_negative:
            self.negatives += 1
            self.negatives_changed += score.changed

    @property
    def leak_rate(self) -> float | None:
        return self.leaked / self.spans if self.spans else None

    @property
    def over_redaction(self) -> float | None:
        return self.altered / self.words if self.words else None

    @property
    def negatives_untouched(self) -> float | None:
        return 1 - self.negatives_changed / self.negatives if self.negatives else None


@dataclass
class Report:
    by_type: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_category: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_locale: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    total: Tally = field(default_factory=Tally)
    structured: Tally = field(default_factory=Tally)
    free_text: Tally = field(default_factory=Tally)
    misses: list[tuple[str, Span]] = field(default_factory=list)
    false_alarms: list[tuple[str, str]] = field(default_factory=list)

    def add(self, score: CaseScore, run: Scan) -> None:
        case = score.case
        self.total.add(score)
        self.by_category[case.category].add(score)
        self.by_locale[case.locale].add(score)
        self.structured.add(score, [s for s in case.spans if s.type in STRUCTURED])
        self.free_text.add(score, [s for s in case.spans if s.type in FREE_TEXT])
        for kind in sorted({s.type for s in case.spans}):
            self.by_type[kind].add(score, [s for s in case.spans if s.type == kind])
        self.misses += [(case.id, s) for s in score.leaked]
        for resolution in run.decision.resolutions:
            finding = resolution.finding
            slot = run.slots[finding.slot]
            gold = [(s.start, s.end) for s in case.spans if s.message == message_of(slot.path)]
            if resolution.action != "allow" and not _overlaps((finding.start, finding.end), gold):
                self.false_alarms.append((case.id, f"{finding.entity_type} {slot.text[finding.start : finding.end]!r}"))

    def targets(self) -> dict[str, tuple[float | None, float, bool]]:
        """Each target: (measured, limit, met)."""
        measured = {
            "structured_leak": self.structured.leak_rate,
            "free_text_leak": self.free_text.leak_rate,
            "over_redaction": self.total.over_redaction,
            "negatives_untouched": self.total.negatives_untouched,
        }
        return {name: (value, TARGETS[name], _met(name, value)) for name, value in measured.items()}


def _met(name: str, value: float | None) -> bool:
    if value is None:  # nothing of that kind in the cases run: nothing missed
        return True
    return value >= TARGETS[name] if name == "negatives_untouched" else value <= TARGETS[name]
