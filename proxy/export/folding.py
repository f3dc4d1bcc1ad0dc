"""Conversation folding (`--one-per-conversation`): a record whose whole dialogue a later turn of
the same conversation resent as its history is left out, since the later row holds it all.

Only turns of one conversation fold into each other: its `X-Proxy-Conversation` id, or without
one the same caller (proxy key and subject). Pseudonymization makes different people's prompts
identical ("Please ask <PERSON_1> ..."), so comparing records across conversations would drop
other people's single-turn requests. And only a later record (by write order) folds an earlier
one, never the reverse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from proxy.export.conversation import Conversation
from proxy.export.source import SourceRow


def _key(scope: str, digest: bytes) -> bytes:
    return hashlib.blake2b(scope.encode() + b"\x00" + digest, digest_size=16).digest()


class Folding:
    """The first pass's memory: for each (conversation, history) pair, the last record that resent it."""

    def __init__(self) -> None:
        self._resent: dict[bytes, int] = {}  # (scope, prefix digest) -> highest seq that resent it

    def learn(self, rows: Iterable[tuple[SourceRow, Conversation]]) -> None:
        """Remember every proper prefix of every record's dialogue, under its conversation."""
        for row, conversation in rows:
            for digest in conversation.prefix_digests()[:-1]:
                key = _key(row.scope, digest)
                self._resent[key] = max(self._resent.get(key, 0), row.seq)

    def superseded(self, row: SourceRow, digest: bytes) -> bool:
        """True when a later turn of this record's conversation resent all of it."""
        return self._resent.get(_key(row.scope, digest), -1) > row.seq
