"""Findings already computed for a text, so a conversation that resends its history is analysed
for its new turn only.

A text's findings depend on the text, the entities asked for and the policy's own detectors
(the model is fixed for the life of the process), so that is the key: a policy edit that changes
what is detected changes the key, and an edit that does not keeps the entries. Keys hold a
SHA-256 of the text, never the text, and values hold offsets and types, never values: the cache
keeps no personal data. It is bounded (least recently used entries go first) and per process.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from proxy.detection.custom import CustomRecognizerSpec
from proxy.exchange import Finding

Key = tuple[bytes, str]


def scope_of(entities: Iterable[str], detectors: Sequence[CustomRecognizerSpec]) -> str:
    """What, besides the text, decides the findings: the entity set and the detectors' definitions."""
    canonical = "\n".join([",".join(sorted(entities)), *(d.model_dump_json() for d in detectors)])
    return hashlib.sha256(canonical.encode()).hexdigest()


class AnalysisCache:
    """A bounded LRU map from (text hash, scope) to that text's findings (with slot 0)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, tuple[Finding, ...]] = OrderedDict()
        self._lock = threading.Lock()  # the event loop and the CLI's threads may both use it
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(text: str, scope: str) -> Key:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest(), scope

    def get(self, key: Key) -> tuple[Finding, ...] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Key, findings: Iterable[Finding]) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = tuple(findings)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
