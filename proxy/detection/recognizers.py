"""Turn a policy's `detectors` into Presidio recognizers: YAML chooses, Presidio runs them."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer

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
    return PatternRecognizer(
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
