"""Detection for many scans at once: what `policy replay` runs its pages of stored requests through.

A replay scans thousands of requests, each with a handful of short texts. One engine call per
request gives spaCy a batch of a few texts and the pool's processes one small job each, so most
of the time goes to per-call overhead and an idle core. `Gathered` stands in for the engine in a
page of concurrent scans: each scan's `detect` waits until every scan of the page is waiting (or
done), then the texts of all of them go to the engine in one call per scope (entity set and
detectors), which batches them for spaCy and spreads them over the pool. Each text is analysed
on its own either way, so the findings are the same as one call per scan; if a gathered call
fails, each scan's call is retried alone, so a failure stays that scan's, as it would have been.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import Protocol, TypeVar

from proxy.detection.cache import scope_of
from proxy.detection.custom import CustomRecognizerSpec
from proxy.exchange import Finding, Slot

T = TypeVar("T")
Specs = Sequence[CustomRecognizerSpec]


class Detects(Protocol):
    """What a scan needs of a detector (`DetectionEngine`, or `Gathered` in front of one)."""

    async def detect(self, slots: list[Slot], entities: set[str], detectors: Specs) -> list[Finding]: ...


@dataclass
class _Call:
    slots: list[Slot]
    entities: set[str]
    detectors: Specs
    future: asyncio.Future[list[Finding]] = field(repr=False)


class Gathered:
    """`detect` for `scans` concurrent scans, sent to `engine` together once all of them wait."""

    def __init__(self, engine: Detects, scans: int) -> None:
        self.engine = engine
        self._active = scans  # scans not finished yet
        self._pending: list[_Call] = []  # waiting to be sent
        self._sent = 0  # sent to the engine, no answer yet
        self._flushes: set[asyncio.Task[None]] = set()  # held, so a running flush is not collected

    async def detect(self, slots: list[Slot], entities: set[str], detectors: Specs) -> list[Finding]:
        call = _Call(slots, entities, detectors, asyncio.get_running_loop().create_future())
        self._pending.append(call)
        self._flush_when_all_wait()
        return await call.future

    def finished(self) -> None:
        """One scan is done (whether or not it detected anything): the others need not wait for it."""
        self._active -= 1
        self._flush_when_all_wait()

    def _flush_when_all_wait(self) -> None:
        if self._pending and len(self._pending) + self._sent >= self._active:
            calls, self._pending = self._pending, []
            self._sent += len(calls)
            task = asyncio.get_running_loop().create_task(self._flush(calls))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _flush(self, calls: list[_Call]) -> None:
        groups: dict[str, list[_Call]] = {}
        for call in calls:
            groups.setdefault(scope_of(call.entities, call.detectors), []).append(call)
        await asyncio.gather(*(self._detect_group(group) for group in groups.values()))

    async def _detect_group(self, calls: list[_Call]) -> None:
        """One engine call for the group; each call's findings renumbered to its own slots."""
        slots = [slot for call in calls for slot in call.slots]
        try:
            found = await self.engine.detect(slots, calls[0].entities, calls[0].detectors)
        except Exception:  # retried alone: only the scan whose text fails sees the failure
            for call in calls:
                await self._detect_alone(call)
            return
        starts = list(accumulate((len(call.slots) for call in calls[:-1]), initial=0))
        per_call: list[list[Finding]] = [[] for _ in calls]
        for finding in found:
            index = bisect_right(starts, finding.slot) - 1  # the call whose slots include this one
            per_call[index].append(replace(finding, slot=finding.slot - starts[index]))
        for call, findings in zip(calls, per_call, strict=True):
            self._answer(call, findings)

    async def _detect_alone(self, call: _Call) -> None:
        try:
            findings = await self.engine.detect(call.slots, call.entities, call.detectors)
        except Exception as exc:
            self._answer(call, exc)
            return
        self._answer(call, findings)

    def _answer(self, call: _Call, outcome: list[Finding] | Exception) -> None:
        self._sent -= 1
        if call.future.done():  # its scan was cancelled
            return
        if isinstance(outcome, Exception):
            call.future.set_exception(outcome)
        else:
            call.future.set_result(outcome)


async def gathered(engine: Detects, jobs: Sequence[Callable[[Detects], Awaitable[T]]]) -> list[T | BaseException]:
    """Run every job concurrently with one `Gathered` detector; each job's result or exception, in order."""
    detector = Gathered(engine, len(jobs))

    async def run(job: Callable[[Detects], Awaitable[T]]) -> T:
        try:
            return await job(detector)
        finally:
            detector.finished()

    return list(await asyncio.gather(*(run(job) for job in jobs), return_exceptions=True))
