"""The analysis cache: a resent history is not analysed again, and nothing stale or unbounded is kept."""

from __future__ import annotations

import asyncio

import pytest

from proxy.detection import DetectionEngine
from proxy.detection.engine import balanced_chunks
from proxy.exchange import Slot
from proxy.policy.schema import Detector

ENTITIES = {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "EMPLOYEE_ID"}
EMPLOYEE = Detector.model_validate({"entity": "EMPLOYEE_ID", "patterns": [{"regex": r"\bEMP-\d{6}\b"}]})
TURNS = [
    "Hi, I am Peter Parker, badge EMP-004211, mail peter@dailybugle.net.",
    "Hello Peter, how can I help?",
    "Call me on (415) 555-0132 tomorrow, please, and ask for Mary Jane Watson.",
]


@pytest.fixture
def cached(detector: DetectionEngine) -> DetectionEngine:
    """A cached engine around the suite's analyzer, counting the texts it really analyses."""
    engine = DetectionEngine(detector.analyzer, cache_entries=100)
    engine.analysed = []  # type: ignore[attr-defined]
    analyse = engine.detect_sync

    def counting(slots: list[Slot], entities: set[str], detectors: list[Detector]) -> object:
        engine.analysed.extend(slot.text for slot in slots)  # type: ignore[attr-defined]
        return analyse(slots, entities, detectors)

    engine.detect_sync = counting  # type: ignore[method-assign]
    return engine


def _slots(texts: list[str]) -> list[Slot]:
    return [Slot(("messages", i, "content"), text) for i, text in enumerate(texts)]


def test_when_a_conversation_resends_its_history_then_only_the_new_turn_is_analysed(
    cached: DetectionEngine, detector: DetectionEngine
) -> None:
    asyncio.run(cached.detect(_slots(TURNS[:2]), ENTITIES, [EMPLOYEE]))
    assert cached.analysed == TURNS[:2]  # type: ignore[attr-defined]

    findings = asyncio.run(cached.detect(_slots(TURNS), ENTITIES, [EMPLOYEE]))

    assert cached.analysed == TURNS  # type: ignore[attr-defined]  # the third text only, once
    assert findings == detector.detect_sync(_slots(TURNS), ENTITIES, [EMPLOYEE])  # as if analysed afresh
    assert {f.slot for f in findings} == {0, 1, 2}  # cached findings carry their slot index in this request
    assert cached.cache.hits == 2


@pytest.mark.parametrize(
    ("entities", "detectors"),
    [
        ({"PERSON"}, [EMPLOYEE]),  # a policy stopped asking for e-mail addresses
        (ENTITIES, [Detector.model_validate({"entity": "EMPLOYEE_ID", "patterns": [{"regex": r"\bEMP-\d{4}\b"}]})]),
    ],
)
def test_when_the_entities_or_detectors_change_then_the_text_is_analysed_again(
    cached: DetectionEngine, entities: set[str], detectors: list[Detector]
) -> None:
    asyncio.run(cached.detect(_slots(TURNS[:1]), ENTITIES, [EMPLOYEE]))
    findings = asyncio.run(cached.detect(_slots(TURNS[:1]), entities, detectors))

    assert cached.analysed == [TURNS[0], TURNS[0]]  # type: ignore[attr-defined]
    assert {f.entity_type for f in findings} <= entities


def test_the_cache_is_bounded_and_forgets_the_least_recently_used(detector: DetectionEngine) -> None:
    engine = DetectionEngine(detector.analyzer, cache_entries=2)
    for text in TURNS:
        asyncio.run(engine.detect(_slots([text]), ENTITIES, []))
    assert len(engine.cache) == 2

    asyncio.run(engine.detect(_slots([TURNS[0]]), ENTITIES, []))  # evicted: analysed again
    assert (engine.cache.hits, engine.cache.misses) == (0, 4)
    asyncio.run(engine.detect(_slots([TURNS[2]]), ENTITIES, []))
    assert engine.cache.hits == 1


def test_the_cache_holds_no_text(cached: DetectionEngine) -> None:
    asyncio.run(cached.detect(_slots(TURNS), ENTITIES, [EMPLOYEE]))
    held = repr(list(cached.cache._entries.items()))
    assert "Parker" not in held and "peter@" not in held and "555-0132" not in held


def test_a_failed_analysis_is_not_cached(cached: DetectionEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    from proxy.errors import DetectionFailed

    monkeypatch.setattr(cached, "detect_sync", lambda *_: 1 / 0)
    with pytest.raises(DetectionFailed):
        asyncio.run(cached.detect(_slots(TURNS[:1]), ENTITIES, []))
    assert len(cached.cache) == 0


def test_slots_are_split_into_chunks_of_similar_length() -> None:
    texts = ["a" * 900, "b" * 500, "c" * 400, "d" * 100]
    chunks = balanced_chunks(texts, 2)
    assert sorted(i for chunk in chunks for i in chunk) == [0, 1, 2, 3]
    assert sorted(sum(len(texts[i]) for i in chunk) for chunk in chunks) == [900, 1000]
    assert balanced_chunks(texts[:1], 4) == [[0]]


def test_a_text_with_phone_numbers_weighs_more_than_its_length() -> None:
    """`phonenumbers` is slow: the text holding two numbers gets a process to itself."""
    numbers = "Call (415) 555-0132 or 020 7946 0958. "
    texts = [numbers.ljust(200, "x"), "y" * 200, "z" * 200]
    assert balanced_chunks(texts, 2) == [[0], [1, 2]]
