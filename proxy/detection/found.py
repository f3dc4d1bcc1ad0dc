"""The shape the proxy's own rule-based recognizers share: a function from text to spans.

Labelled identifiers, keyed values and places of residence are each found by one pass of plain
Python over the text; `SpanRecognizer` turns what such a pass finds into Presidio results, so
each recognizer only says what it finds and why. `GatedPatternRecognizer` is Presidio's pattern
recognizer with a cheap test first, for recognizers whose patterns most texts cannot match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts


@dataclass(frozen=True)
class Found:
    """One span: its entity type, offsets, score and the reason, for `policy explain`."""

    entity: str
    start: int
    end: int
    score: float
    why: str


class SpanRecognizer(EntityRecognizer):
    """A Presidio recognizer over `find`, reporting only the entity types asked for."""

    NAME: ClassVar[str]
    ENTITIES: ClassVar[tuple[str, ...]]

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entities=list(self.ENTITIES), name=self.NAME, supported_language=supported_language, context=[]
        )

    def load(self) -> None:
        """Nothing to load: patterns and word lists are compiled at import."""

    def find(self, text: str) -> Iterable[Found]:
        raise NotImplementedError

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        wanted = set(entities)
        return [
            RecognizerResult(
                found.entity,
                found.start,
                found.end,
                found.score,
                AnalysisExplanation(self.NAME, found.score, textual_explanation=found.why),
                recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.NAME},
            )
            for found in self.find(text)
            if found.entity in wanted
        ]


class GatedPatternRecognizer(PatternRecognizer):
    """A pattern recognizer that runs its patterns only on a text that `may_match`: a cheap test
    (a run of digits, a keyword) that every match passes. Presidio tries each pattern at every word
    of the text, about 0.1 ms of CPU per recognizer on a 1.5 KB request even when nothing matches."""

    def may_match(self, text: str) -> bool:
        return True

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if not self.may_match(text):
            return []
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return results
