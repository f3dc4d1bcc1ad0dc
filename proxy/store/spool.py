"""An append-only file of records the database could not take yet; replayed when it returns."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from proxy.store.records import RecordRows


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, records: list[RecordRows]) -> None:
        """Write and fsync, so a record that reached the spool survives a crash."""
        if not records:
            return
        lines = "".join(record.to_json() + "\n" for record in records)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(lines)
                handle.flush()
                os.fsync(handle.fileno())

    def pending(self) -> int:
        with self._lock:
            if not self.path.exists():
                return 0
            with open(self.path, encoding="utf-8") as handle:
                return sum(1 for line in handle if line.strip())

    def peek(self, limit: int) -> list[RecordRows]:
        with self._lock:
            if not self.path.exists():
                return []
            with open(self.path, encoding="utf-8") as handle:
                lines = [line for line in handle if line.strip()][:limit]
        return [RecordRows.from_json(line) for line in lines]

    def drop(self, count: int) -> None:
        """Remove the first `count` records, keeping any appended since they were read."""
        with self._lock:
            with open(self.path, encoding="utf-8") as handle:
                rest = [line for line in handle if line.strip()][count:]
            if not rest:
                self.path.unlink()
                return
            temporary = self.path.with_suffix(".tmp")
            with open(temporary, "w", encoding="utf-8") as handle:
                handle.writelines(rest)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
