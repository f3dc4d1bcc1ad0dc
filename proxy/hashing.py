"""Keyed hashes: the same value gives the same digest under one key, and nobody without the
key can test a guess against a digest (a plain SHA-256 of an e-mail address can be brute-forced)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


class Hasher:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, value: str) -> str:
        """Full hex HMAC-SHA256 of the normalised value, as stored in `findings.value_hash`."""
        return hmac.new(self._key, normalise(value).encode(), hashlib.sha256).hexdigest()

    def short(self, value: str) -> str:
        """The 12-hex-digit form used in `hash` placeholders."""
        return self.digest(value)[:12]


def normalise(value: str) -> str:
    """One form per value, so `Alice@Example.com ` and `alice@example.com` hash alike."""
    return " ".join(value.split()).casefold()


def load_hash_key(env_var: str, fallback_file: Path) -> bytes:
    """The key from `env_var`, else from a key file created on first use (mode 0600).

    Replicas that share a database must share the key, so production sets the env var."""
    if os.environ.get(env_var):
        return os.environ[env_var].encode()
    if not fallback_file.exists():
        fallback_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(fallback_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return fallback_file.read_text().strip().encode()
