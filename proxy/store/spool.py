"""Records the database could not take yet, in append-only segment files; replayed when it returns.

`storage.spool_path` names the spool; its records live in segments beside it (`spool.jsonl.0001`,
`.0002`, ...), one JSON line each. New records go to the newest segment until it holds
`SEGMENT_BYTES`; replay reads the oldest segment from where the last replay stopped (its offset is
kept in `<segment>.offset`, so a restart resumes there), and deletes the segment once it is read to
the end. Each record is read and written once: replay is linear in the spool's size and holds one
batch in memory, however large the spool. A spool file of an older version (`spool.jsonl` itself)
is replayed first, the same way.

Worker processes (`serve --workers N`) share the spool, so every change happens under an exclusive
`flock` on a lock file beside it, not just a thread lock; a replay holds it from read to offset
update, so two processes never replay the same records.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from proxy.store.records import RecordRows

log = logging.getLogger(__name__)

SEGMENT_BYTES = 64 * 1024 * 1024


class Spool:
    """Records waiting for the database, in segments oldest first."""

    def __init__(self, path: Path, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.path = path
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._pattern = re.compile(re.escape(path.name) + r"\.(\d+)")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self._beside("lock"), "a", opener=_private) as lock:
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
        with self._locked():
            segments = self._segments()
            newest = segments[-1] if segments and segments[-1] != self.path else None
            if newest is None or newest.stat().st_size >= self.segment_bytes:
                newest = self._segment(self._number(newest) + 1 if newest else 1)
            with open(newest, "ab+", opener=_private) as handle:
                if handle.seek(0, os.SEEK_END) and (handle.seek(-1, os.SEEK_END), handle.read(1))[1] != b"\n":
                    handle.write(b"\n")  # a crash left a torn last line: keep ours off it
                handle.write(lines)
                handle.flush()
                os.fsync(handle.fileno())

    def reject(self, record: RecordRows) -> None:
        """Keep a record the database refused in `<spool>.rejected`, for a person to look at.
        No lock: it is called while `drain` holds it, and each record is one appended line."""
        self._set_aside("rejected", record.to_json())

    def has_records(self) -> bool:
        return bool(self._segments())

    def size_bytes(self) -> int:
        """Bytes not yet replayed."""
        total = 0
        for segment in self._segments():
            try:
                total += segment.stat().st_size - _read_offset(self._offset_file(segment))
            except FileNotFoundError:
                continue  # replayed and deleted meanwhile
        return total

    def drain(self, write: Callable[[list[RecordRows]], None], limit: int) -> int:
        """Write the oldest records (up to `limit`) and move past them, all under the lock, so
        two processes sharing the spool never replay the same records at once. Returns how many
        moved; 0 when the spool is empty."""
        with self._locked():
            while segments := self._segments():
                oldest = segments[0]
                records, end = self._read(oldest, limit)
                if records:
                    write(records)
                self._move_past(oldest, end)
                if records:
                    return len(records)
        return 0

    def _move_past(self, segment: Path, offset: int) -> None:
        """Remember how far the segment is replayed, or delete it once read to the end (under the
        lock nobody is appending to it)."""
        if offset < segment.stat().st_size:
            _write_offset(self._offset_file(segment), offset)
            return
        segment.unlink()
        self._offset_file(segment).unlink(missing_ok=True)

    def pending(self) -> int:
        """Records not yet replayed (reads them all: for tests and tools, not the request path)."""
        with self._locked():
            count = 0
            for segment in self._segments():
                with open(segment, "rb") as handle:
                    handle.seek(_read_offset(self._offset_file(segment)))
                    count += sum(1 for line in handle if line.strip())
            return count

    def peek(self, limit: int) -> list[RecordRows]:
        """The oldest records, without moving past them."""
        with self._locked():
            segments = self._segments()
            return self._read(segments[0], limit)[0] if segments else []

    def _read(self, segment: Path, limit: int) -> tuple[list[RecordRows], int]:
        """Up to `limit` records from the segment's offset, and the offset after them. A line
        that does not parse (a crash mid-append) goes to `<spool>.corrupt` for a person to look
        at, instead of blocking every record behind it."""
        records: list[RecordRows] = []
        with open(segment, "rb") as handle:
            handle.seek(_read_offset(self._offset_file(segment)))
            while len(records) < limit and (line := handle.readline()):
                if not line.strip():
                    continue
                try:
                    records.append(RecordRows.from_json(line.decode("utf-8")))
                except (ValueError, KeyError, TypeError):
                    log.error("moving an unreadable spool line to %s.corrupt", self.path.name)
                    self._set_aside("corrupt", line.decode("utf-8", "replace").rstrip("\n"))
            return records, handle.tell()

    def _segments(self) -> list[Path]:
        """Oldest first: the legacy single file, then the numbered segments."""
        if not self.path.parent.exists():
            return []
        numbered = [path for path in self.path.parent.iterdir() if self._pattern.fullmatch(path.name)]
        numbered.sort(key=self._number)
        return ([self.path] if self.path.exists() else []) + numbered

    def _number(self, segment: Path) -> int:
        match = self._pattern.fullmatch(segment.name)
        return int(match[1]) if match else 0

    def _segment(self, number: int) -> Path:
        return self._beside(f"{number:04d}")

    def _offset_file(self, segment: Path) -> Path:
        return segment.with_name(segment.name + ".offset")

    def _beside(self, suffix: str) -> Path:
        return self.path.with_name(f"{self.path.name}.{suffix}")

    def _set_aside(self, kind: str, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._beside(kind), "a", encoding="utf-8", opener=_private) as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _read_offset(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except FileNotFoundError:
        return 0


def _write_offset(path: Path, offset: int) -> None:
    """Replace atomically, so a crash leaves the old offset or the new one (re-replaying one batch
    at worst: records already stored are skipped by id)."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", opener=_private) as handle:
        handle.write(str(offset))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _private(path: str, flags: int) -> int:
    """Spooled records are the store's rows: readable by the proxy's user only, like the database."""
    return os.open(path, flags, 0o600)
