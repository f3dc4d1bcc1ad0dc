"""An append-only file of records the database could not take yet; replayed when it returns.

Worker processes (`serve --workers N`) share one spool file, so every change to it happens under
an exclusive `flock` on a lock file beside it, not just a thread lock.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from proxy.store.records import RecordRows

log = logging.getLogger(__name__)


class Spool:
    """Records waiting for the database, one JSON line each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, records: list[RecordRows]) -> None:
        """Write and fsync, so a record that reached the spool survives a crash."""
        if not records:
            return
        lines = "".join(record.to_json() + "\n" for record in records).encode()
        with self._locked(), open(self.path, "ab+", opener=_private) as handle:
            if handle.seek(0, os.SEEK_END) and (handle.seek(-1, os.SEEK_END), handle.read(1))[1] != b"\n":
                handle.write(b"\n")  # a crash left a torn last line: keep ours off it
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())

    def reject(self, record: RecordRows) -> None:
        """Keep a record the database refused in `<spool>.rejected`, for a person to look at.
        No lock: it is called while `drain` holds it, and each record is one appended line."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".rejected"), "a", encoding="utf-8", opener=_private) as handle:
            handle.write(record.to_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def has_records(self) -> bool:
        return self.path.exists()

    def size_bytes(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def drain(self, write: Callable[[list[RecordRows]], None], limit: int) -> int:
        """Write the oldest records and remove them, all under the lock, so two processes
        sharing the spool never replay the same records at once. Returns how many moved."""
        with self._locked():
            records = self._peek(limit)
            if not records:
                return 0
            write(records)
            ids = {record.id for record in records}
            self._rewrite([line for line in self._lines() if _record_id(line) not in ids])
        return len(records)

    def pending(self) -> int:
        with self._locked():
            return len(self._lines())

    def peek(self, limit: int) -> list[RecordRows]:
        """The oldest records. A line that does not parse (a crash mid-append) is moved to
        `<spool>.corrupt` for a person to look at, instead of blocking every record behind it."""
        with self._locked():
            return self._peek(limit)

    def _peek(self, limit: int) -> list[RecordRows]:
        lines = self._lines()
        good, bad = [], []
        for line in lines[:limit]:
            try:
                good.append(RecordRows.from_json(line))
            except (ValueError, KeyError, TypeError):
                bad.append(line)
        if bad:
            log.error("moving %d unreadable spool lines to %s.corrupt", len(bad), self.path.name)
            corrupt = self.path.with_name(self.path.name + ".corrupt")
            with open(corrupt, "a", encoding="utf-8", opener=_private) as handle:
                handle.writelines(line + "\n" for line in bad)
            self._rewrite([line for line in lines if line not in bad])
        return good

    def drop(self, ids: set[str]) -> None:
        """Remove the records with these ids, keeping any appended since they were read."""
        with self._locked():
            self._rewrite([line for line in self._lines() if _record_id(line) not in ids])

    def _lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as handle:
            return [line.rstrip("\n") for line in handle if line.strip()]

    def _rewrite(self, lines: list[str]) -> None:
        if not lines:
            self.path.unlink(missing_ok=True)
            return
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        with open(temporary, "w", encoding="utf-8", opener=_private) as handle:
            handle.writelines(line + "\n" for line in lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


def _private(path: str, flags: int) -> int:
    """Spooled records are the store's rows: readable by the proxy's user only, like the database."""
    return os.open(path, flags, 0o600)


def _record_id(line: str) -> str | None:
    try:
        return str(json.loads(line)["request"]["id"])
    except (ValueError, KeyError, TypeError):
        return None
