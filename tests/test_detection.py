"""Detection: Presidio with the real spaCy model, the policy's own recognizers, and no network."""

from __future__ import annotations

import asyncio
import socket

import pytest
import tldextract.tldextract

from proxy.detection import DetectionEngine
from proxy.detection.recognizers import custom_recognizers
from proxy.exchange import Slot
from proxy.policy.schema import Detector

EMPLOYEE = Detector.model_validate(
    {"entity": "EMPLOYEE_ID", "patterns": [{"regex": r"\bEMP-\d{6}\b", "score": 0.5}], "context": ["employee"]}
)
CODENAMES = Detector.model_validate({"entity": "PROJECT_CODENAME", "words": ["Bluebird", "Night Jar"]})


def _spans(
    detector: DetectionEngine, text: str, entities: set[str], custom: list[Detector] | None = None
) -> list[tuple[str, str]]:
    findings = asyncio.run(detector.detect([Slot(("m",), text)], entities, custom or []))
    return sorted((f.entity_type, text[f.start : f.end]) for f in findings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Badge EMP-004211 was lost", [("EMPLOYEE_ID", "EMP-004211")]),
        ("XEMP-004211 and EMP-0042112", []),
        ("the bluebird launch and NIGHT JAR", [("PROJECT_CODENAME", "NIGHT JAR"), ("PROJECT_CODENAME", "bluebird")]),
        ("bluebirds are birds", []),
    ],
)
def test_when_policy_detectors_match_then_their_entity_is_found(
    detector: DetectionEngine, text: str, expected: list[tuple[str, str]]
) -> None:
    assert _spans(detector, text, {"EMPLOYEE_ID", "PROJECT_CODENAME"}, [EMPLOYEE, CODENAMES]) == expected


def test_a_detector_two_policies_share_runs_once(detector: DetectionEngine) -> None:
    """Each team's policy may repeat the company's badge detector; one recognizer runs, one finding."""
    assert len(custom_recognizers([EMPLOYEE, CODENAMES, EMPLOYEE.model_copy()], "en")) == 2
    assert _spans(detector, "Badge EMP-004211", {"EMPLOYEE_ID"}, [EMPLOYEE, EMPLOYEE]) == [
        ("EMPLOYEE_ID", "EMP-004211")
    ]


def test_when_context_words_appear_in_any_inflection_then_the_score_rises(detector: DetectionEngine) -> None:
    """Context matching uses spaCy lemmas: 'employees' counts as 'employee'. A blank model would lose this."""

    def score(text: str) -> float:
        findings = asyncio.run(detector.detect([Slot(("m",), text)], {"EMPLOYEE_ID"}, [EMPLOYEE]))
        return findings[0].score

    assert score("All employees: EMP-004211") > score("Ticket list: EMP-004211")


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("write to ada@math.org please", "EMAIL_ADDRESS", "ada@math.org"),
        ("Peter Parker called", "PERSON", "Peter Parker"),
        ("card 4111 1111 1111 1111", "CREDIT_CARD", "4111 1111 1111 1111"),
        ("from 81.2.69.160", "IP_ADDRESS", "81.2.69.160"),
    ],
)
def test_when_presidio_entities_appear_then_they_are_found(
    detector: DetectionEngine, text: str, entity: str, value: str
) -> None:
    assert (entity, value) in _spans(detector, text, {entity})


def test_detection_never_reaches_for_the_network(detector: DetectionEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    assert tldextract.tldextract.TLD_EXTRACTOR.suffix_list_urls == ()

    def no_network(*_: object, **__: object) -> None:
        raise AssertionError("detection tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert _spans(detector, "mail ops@fresh-domain.co.uk now", {"EMAIL_ADDRESS"}) == [
        ("EMAIL_ADDRESS", "ops@fresh-domain.co.uk")
    ]


def test_slots_are_analysed_in_one_batch_and_findings_name_their_slot(detector: DetectionEngine) -> None:
    slots = [Slot(("a",), "nothing here"), Slot(("b",), "mail ada@math.org")]
    findings = asyncio.run(detector.detect(slots, {"EMAIL_ADDRESS"}, []))
    assert [(f.slot, f.start, f.end) for f in findings] == [(1, 5, 17)]


def test_no_entities_means_no_analysis(detector: DetectionEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detector, "detect_sync", lambda *_: pytest.fail("analyzed although nothing was asked"))
    assert asyncio.run(detector.detect([Slot(("a",), "Peter Parker")], set(), [])) == []


def test_a_missing_spacy_model_is_a_config_error_not_a_download() -> None:
    from proxy.config import ConfigError, DetectionConfig
    from proxy.detection import build_analyzer

    with pytest.raises(ConfigError, match="not installed"):
        build_analyzer(DetectionConfig(spacy_model="en_core_web_nonexistent"))
