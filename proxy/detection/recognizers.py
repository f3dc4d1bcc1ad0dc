"""Turn a policy's `detectors` into Presidio recognizers: YAML chooses, Presidio runs them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from proxy.detection.custom import CustomRecognizerSpec


def custom_recognizers(detectors: Sequence[CustomRecognizerSpec], language: str) -> list[EntityRecognizer]:
    """Presidio recognizers for a policy's detectors, built once per distinct detector. Policies
    that apply together often share a detector (one file per team, the same badge format): each
    distinct one runs once."""
    specs = {
        CustomRecognizerSpec.model_validate(d.model_dump(include=_SPEC_FIELDS)).model_dump_json(): None
        for d in detectors
    }
    return [_recognizer(spec, language) for spec in specs]


_SPEC_FIELDS = set(CustomRecognizerSpec.model_fields)


@lru_cache(maxsize=256)
def _recognizer(detector_json: str, language: str) -> EntityRecognizer:
    # Keyed by the detector's JSON so a policy reload with an edited detector builds a new one,
    # while the unchanged ones are reused across requests.
    detector = CustomRecognizerSpec.model_validate_json(detector_json)
    kind = ContextRequiredRecognizer if detector.requires_context else PatternRecognizer
    return kind(
        supported_entity=detector.entity,
        name=f"policy:{detector.entity}",
        supported_language=language,
        patterns=[
            Pattern(name=f"{detector.entity}_{i}", regex=p.regex, score=p.score)
            for i, p in enumerate(detector.patterns)
        ],
        deny_list=list(detector.words),
        context=list(detector.context),
    )


CONTEXT_WINDOW = 5  # words before a match, as Presidio's context enhancer counts them
_WORD = re.compile(r"\w+")


class ContextRequiredRecognizer(PatternRecognizer):
    """A detector with `requires_context: true`: a match without one of its context words among
    the five words before it is no finding at all (not even a near miss)."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        found = super().analyze(text, entities, nlp_artifacts, regex_flags)
        wanted = {word.casefold() for word in self.context or []}
        return [r for r in found if wanted & _words_before(text, r.start, nlp_artifacts)]


def _words_before(text: str, start: int, nlp_artifacts: NlpArtifacts | None) -> set[str]:
    """The last words before `start`, as written and as lemmas (`tickets` counts for `ticket`)."""
    tokens = nlp_artifacts.tokens if nlp_artifacts is not None else None
    if tokens is not None:
        before = [t for t in tokens if t.idx + len(t.text) <= start and not (t.is_punct or t.is_space)]
        last = before[-CONTEXT_WINDOW:]
        return {t.text.casefold() for t in last} | {t.lemma_.casefold() for t in last}
    words = [w.casefold() for w in _WORD.findall(text[:start])][-CONTEXT_WINDOW:]
    return set(words) | {w.removesuffix("s") for w in words}
