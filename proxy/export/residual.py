"""The residual check: run the real detector over what is about to be written.

The policy decided what the vendor saw, and policies allow some things (or miss them); a dataset
lives longer and travels further than a prompt. Findings inside the fakes the export itself put
in (surrogate mode) are not residue and are ignored.
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
        types = set()
        for finding in findings:
            value = slots[finding.slot].text[finding.start : finding.end]
            if finding.score >= self.min_score and not any(value in fake for fake in ours):
                types.add(finding.entity_type)
        return sorted(types)
