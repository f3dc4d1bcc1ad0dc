"""The residual check: run the real detector over what is about to be written.

The policy decided what the vendor saw, and policies allow some things (or miss them); a dataset
lives longer and travels further than a prompt. A finding that touches a fake the export itself
put in (surrogate mode) is not residue: the detector's span is often wider than the fake ("Dear
Lori Foster" around the fake "Lori Foster"), so the fake's own span is what is compared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from proxy.exchange import Slot
from proxy.export.conversation import Conversation

if TYPE_CHECKING:  # importing Presidio and spaCy costs seconds and memory; only the check needs them
    from proxy.detection import DetectionEngine

ResidualAction = Literal["off", "flag", "drop"]
DEFAULT_ENTITIES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
)


class ResidualCheck:
    def __init__(self, detector: DetectionEngine, entities: tuple[str, ...], min_score: float) -> None:
        self.detector = detector
        unknown = sorted(set(entities) - detector.supported_entities())
        if unknown:
            raise ValueError(f"--residual-entities: the detector does not know {', '.join(unknown)}")
        self.entities = set(entities)
        self.min_score = min_score

    def found(self, conversation: Conversation, ours: set[str]) -> list[str]:
        """The entity types still present (sorted, once each); never the values."""
        slots = [Slot(path=(index,), text=text) for index, text in enumerate(conversation.texts())]
        findings = self.detector.detect_sync(slots, self.entities, ())
        spans = [_spans(slot.text, ours) for slot in slots]
        types = set()
        for finding in findings:
            if finding.score < self.min_score:
                continue
            if not any(start < finding.end and finding.start < end for start, end in spans[finding.slot]):
                types.add(finding.entity_type)
        return sorted(types)


def _spans(text: str, fakes: set[str]) -> list[tuple[int, int]]:
    """Where the export's own fakes stand in `text`."""
    spans = []
    for fake in fakes:
        start = text.find(fake)
        while start >= 0:
            spans.append((start, start + len(fake)))
            start = text.find(fake, start + 1)
    return spans
