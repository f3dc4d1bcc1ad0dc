"""Reload policies when their files change, or on SIGHUP, without ever serving without a policy.

A reload that fails validation keeps the last good set in force; the failure is logged (the
problems name files and lines, never request data) and counted for `/readyz` and metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import anyio

from proxy.policy.bundle import PolicySet
from proxy.policy.loader import PolicyError, load_policies, policy_files

log = logging.getLogger(__name__)

RELOAD_ACTOR = "serve:reload"  # a file change, SIGHUP or POST /admin/policies/reload


class PolicyWatcher:
    def __init__(
        self,
        directory: Path,
        known_entities: Iterable[str],
        install: Callable[[PolicySet, str], None],
        interval: float = 2.0,
        on_result: Callable[[bool, str], None] = lambda ok, actor: None,
    ) -> None:
        self.directory = directory
        self.known_entities = set(known_entities)
        self.install = install
        self.interval = interval
        self.on_result = on_result
        self.reloads = 0
        self.failures = 0
        self.last_error: str | None = None  # of the last failed reload: file:line messages, no request data
        self._fingerprint = self.fingerprint()
        self._wake = anyio.Event()

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        """Names, sizes and modification times of the policy files: cheap to compare every few seconds."""
        try:
            return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in policy_files(self.directory))
        except OSError:
            return ()

    def request_reload(self) -> None:
        """Called from the SIGHUP handler."""
        self._fingerprint = ()
        self._wake.set()

    async def run(self) -> None:
        while True:
            with anyio.move_on_after(self.interval or float("inf")):  # 0: wait for SIGHUP only
                await self._wake.wait()
            self._wake = anyio.Event()
            current = self.fingerprint()
            if current != self._fingerprint:
                self._fingerprint = current
                await anyio.to_thread.run_sync(self.reload)

    def reload(self, actor: str = RELOAD_ACTOR) -> bool:
        """Load the files and put them in force; `actor` (who asked) is what the one audit row
        of this reload names."""
        try:
            policy_set = load_policies(self.directory, known_entities=self.known_entities)
        except PolicyError as exc:
            return self._failed(str(exc), actor)
        except Exception as exc:  # whatever a half-saved file does, the watcher must live on
            return self._failed(f"could not load the policies ({type(exc).__name__})", actor)
        self.last_error = None
        self.install(policy_set, actor)
        self.reloads += 1
        self.on_result(True, actor)
        log.info("policies reloaded: %s", ", ".join(p.label for p in policy_set.policies))
        return True

    def _failed(self, message: str, actor: str) -> bool:
        self.failures += 1
        self.last_error = message
        self.on_result(False, actor)
        log.error("policy reload failed; the previous policies stay in force:\n%s", message)
        return False
