"""The shape the proxy's own rule-based recognizers share: a function from text to spans.

Labelled identifiers, keyed values and places of residence are each found by one pass of plain
Python over the text; `SpanRecognizer` turns what such a pass finds into Presidio results, so
each recognizer only says what it finds and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult
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
