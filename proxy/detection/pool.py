"""Detection processes: spaCy and Presidio are CPU-bound Python, so one process (one GIL) can use
one core at most. A pool of processes, each with its own analyzer built once by the initializer,
lets one request's slots run on several cores and many requests run side by side, while the
server process only hashes, dispatches and forwards.

Processes are spawned, not forked: the server has threads (the recorder, the event loop's
executors) that a fork would copy in an unknown state. If a process dies, the pool is broken:
the requests it held fail closed (`DetectionFailed`, 503, nothing forwarded) and a fresh pool
takes over; until its processes have loaded spaCy, requests are refused at once as overloaded
(503, which a client retries; never forwarded unscanned, whatever `on_detector_error` says)
instead of queueing past their detection budget.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from presidio_analyzer import AnalyzerEngine

from proxy.config import DetectionConfig
from proxy.detection.custom import CustomRecognizerSpec
from proxy.exchange import Finding

log = logging.getLogger(__name__)
WORKERS_ENV = "PRIVACY_PROXY_WORKERS"  # set by `serve --workers N`: server processes on this machine
WARM_UP_SECONDS = 300.0  # each process loads spaCy; a busy small machine can take a while

_analyzer: AnalyzerEngine | None = None  # in a pool process: built once by `_start_worker`
_language = "en"


def detection_processes(config: DetectionConfig) -> int:
    """`detection.processes`, or when unset one per CPU core shared among the server processes
    (`serve --workers N` starts N, each with its own pool), and at least one."""
    if config.processes is not None:
        return config.processes
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = int(os.environ.get(WORKERS_ENV) or 1)
    return max(1, cpus // max(workers, 1))


def _start_worker(config: DetectionConfig) -> None:
    """Pool initializer: build this process's analyzer once (takes seconds)."""
    global _analyzer, _language
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which then closes the pool
    from proxy.detection.engine import build_analyzer  # engine imports this module

    _analyzer, _language = build_analyzer(config), config.language


def _analyze(texts: list[str], entities: set[str], detectors: Sequence[CustomRecognizerSpec]) -> list[list[Finding]]:
    from proxy.detection.engine import analyze_texts

    assert _analyzer is not None, "the pool initializer did not run"
    return analyze_texts(_analyzer, _language, texts, entities, detectors)


def _pid(pause: float) -> int:
    time.sleep(pause)  # long enough that each warm-up call lands on a different process
    return os.getpid()


class PoolStarting(RuntimeError):
    """The pool is being replaced and its processes are still loading spaCy."""


class DetectionPool:
    """A process pool with an analyzer in every process, replaced when one of them dies."""

    def __init__(self, config: DetectionConfig, processes: int) -> None:
        if processes < 1:
            raise ValueError("a detection pool needs at least one process")
        self.config, self.processes = config, processes
        self._lock = threading.Lock()
        self._executor = self._new_executor()
        self._ready = threading.Event()  # cleared while a replacement pool warms up
        self._ready.set()  # the first pool is warmed by the server's start-up, which requests wait for
        self.pids: list[int] = []

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.config,),
        )

    def warm_up(self, timeout: float = WARM_UP_SECONDS) -> list[int]:
        """Start every process and wait until each has its analyzer; returns their pids."""
        executor, pids = self._executor, set[int]()
        deadline = time.monotonic() + timeout
        while len(pids) < self.processes:
            if time.monotonic() > deadline:
                raise TimeoutError(f"detection processes did not start within {timeout:.0f} s")
            calls = [executor.submit(_pid, 0.05) for _ in range(self.processes)]
            pids.update(call.result(timeout=timeout) for call in calls)
        self.pids = sorted(pids)
        return self.pids

    async def analyze(
        self, chunks: list[list[str]], entities: set[str], detectors: Sequence[CustomRecognizerSpec]
    ) -> list[list[list[Finding]]]:
        """Each chunk of texts analysed in one process (one spaCy batch), the chunks in parallel."""
        if not self._ready.is_set():
            raise PoolStarting("the detection processes are starting")
        executor = self._executor
        try:
            calls = [asyncio.wrap_future(executor.submit(_analyze, chunk, entities, detectors)) for chunk in chunks]
            return list(await asyncio.gather(*calls))
        except BrokenProcessPool:
            self._replace(executor)
            raise

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Swap in a fresh pool (once, however many requests saw the broken one) and warm it in
        the background, so the event loop never waits for spaCy to load."""
        with self._lock:
            if self._executor is not broken:
                return
            log.error("a detection process died; starting a new pool")
            broken.shutdown(wait=False, cancel_futures=True)
            self._ready.clear()
            self._executor = self._new_executor()
        threading.Thread(target=self._warm_quietly, name="detect-warm-up", daemon=True).start()

    def _warm_quietly(self) -> None:
        try:
            self.warm_up()
        except Exception as exc:  # the next request will fail closed and try again
            log.error("detection processes failed to start: %s", type(exc).__name__)
        finally:
            self._ready.set()  # warm, or broken again: either way the next request finds out

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
