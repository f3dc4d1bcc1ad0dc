"""Detection in a pool of processes: the same findings as in-thread analysis, and a dead process
fails the request closed (503, nothing forwarded) before a fresh pool takes over.

One small pool (two processes, each loading spaCy) serves this module; the rest of the suite
analyses in-thread with the session detector."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import openai
import pytest

from proxy.config import DetectionConfig
from proxy.detection import DetectionEngine
from proxy.detection.pool import DetectionPool, PoolStarting, detection_processes
from proxy.errors import Overloaded
from proxy.exchange import Finding, Slot
from proxy.policy.schema import Detector

from .conftest import RunningProxy, StartProxy
from .mock_vendor import MockVendor

TEXTS = [
    "You are a support assistant for Acme Telecom; never ask for card numbers.",
    "Hi, I am Maria Gonzalez, badge EMP-004211; write to maria.gonzalez@fastmail.com or call (415) 555-0132.",
    "Thank you Maria. David Chen is on the account too. His card is 4111 1111 1111 1111.",
    "Paste: export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY from 81.2.69.160",
]
ENTITIES = {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IP_ADDRESS", "AWS_SECRET_KEY", "EMPLOYEE_ID"}
EMPLOYEE = Detector.model_validate(
    {"entity": "EMPLOYEE_ID", "patterns": [{"regex": r"\bEMP-\d{6}\b", "score": 0.5}], "context": ["badge"]}
)


@pytest.fixture(scope="module")
def pooled(detector: DetectionEngine) -> Iterator[DetectionEngine]:
    pool = DetectionPool(DetectionConfig(), 2)
    pool.warm_up()
    engine = DetectionEngine(detector.analyzer, pool=pool)  # what `from_config` builds, less a third spaCy
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def pooled_proxy(pooled: DetectionEngine, start_proxy: StartProxy) -> Iterator[RunningProxy]:
    with start_proxy(engine=pooled) as running:
        yield running


def test_the_pool_finds_exactly_what_in_thread_analysis_finds(
    pooled: DetectionEngine, detector: DetectionEngine
) -> None:
    import asyncio

    slots = [Slot(("messages", i, "content"), text) for i, text in enumerate(TEXTS)]
    in_pool = asyncio.run(pooled.detect(slots, ENTITIES, [EMPLOYEE]))
    in_thread = detector.detect_sync(slots, ENTITIES, [EMPLOYEE])
    # Which recognizer is named for two identical findings is arbitrary in Presidio (it dedupes
    # through a set, whose order differs per process); what was found, where, must not differ.
    assert [_found(f) for f in in_pool] == [_found(f) for f in in_thread]
    assert {f.entity_type for f in in_pool} >= {"PERSON", "EMAIL_ADDRESS", "CREDIT_CARD", "EMPLOYEE_ID"}
    assert pooled.pool is not None and len(set(pooled.pool.pids)) == 2


def test_when_a_detection_process_dies_then_the_request_fails_closed_and_the_pool_recovers(
    pooled_proxy: RunningProxy, pooled: DetectionEngine, vendor: MockVendor
) -> None:
    assert pooled.pool is not None
    messages = [{"role": "user", "content": "Hi, Jane Roe here, mail jane.roe@fastmail.com"}]
    for pid in pooled.pool.pids:  # every process, so no survivor can take the request
        os.kill(pid, signal.SIGKILL)

    with pytest.raises(openai.APIStatusError) as caught:
        pooled_proxy.client().chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]

    assert caught.value.status_code == 503
    assert "Jane Roe" not in caught.value.response.text
    assert vendor.received == []
    answer = _eventually(lambda: pooled_proxy.client().chat.completions.create(model="gpt-4o", messages=messages))  # type: ignore[arg-type]
    assert answer.choices[0].message.content is not None
    assert len(vendor.received) == 1  # only the request after recovery reached the vendor
    assert "jane.roe@fastmail.com" not in str(vendor.last)  # scanned by the new pool before it left


def _eventually(call: object, timeout: float = 120.0) -> openai.types.chat.ChatCompletion:
    """The fresh pool loads spaCy in the background; requests meanwhile may still fail closed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()  # type: ignore[operator, no-any-return]
        except openai.APIStatusError as error:
            if error.status_code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_pool_size_defaults_to_the_cores_shared_among_server_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv("PRIVACY_PROXY_WORKERS", raising=False)
    assert detection_processes(DetectionConfig()) == cores
    monkeypatch.setenv("PRIVACY_PROXY_WORKERS", str(cores * 2))
    assert detection_processes(DetectionConfig()) == 1
    assert detection_processes(DetectionConfig(processes=0)) == 0
    with pytest.raises(ValueError):
        DetectionPool(DetectionConfig(), 0)


def _found(finding: Finding) -> tuple[object, ...]:
    return finding.slot, finding.start, finding.end, finding.entity_type, finding.score


def test_while_a_new_pool_starts_requests_are_refused_as_overloaded_not_failed(detector: DetectionEngine) -> None:
    """A detection failure may be let through unscanned by `on_detector_error: allow`; a pool that
    is still loading spaCy is not a failure but a wait, so it answers 503 overloaded (retry soon)."""

    class StartingPool:
        processes = 1

        async def analyze(self, *args: object) -> list[object]:
            raise PoolStarting("the detection processes are starting")

    engine = DetectionEngine(detector.analyzer, pool=StartingPool())  # type: ignore[arg-type]
    with pytest.raises(Overloaded):
        asyncio.run(engine.detect([Slot(("text",), "Anna Kowalska")], {"PERSON"}, []))
