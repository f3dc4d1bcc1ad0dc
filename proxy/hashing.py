"""Keyed hashes: the same value gives the same digest under one key, and nobody without the
key can test a guess against a digest (a plain SHA-256 of an e-mail address can be brute-forced)."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from proxy.config import Config, ConfigError
from proxy.local_keys import local_key_file, read_or_create


class Hasher:
    """HMAC-SHA256 under the company's hash key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, value: str) -> str:
        """Full hex HMAC-SHA256 of the normalised value, as stored in `findings.value_hash`."""
        return hmac.new(self._key, normalise(value).encode(), hashlib.sha256).hexdigest()

    def short(self, value: str) -> str:
        """The 12-hex-digit form used in `hash` placeholders."""
        return self.digest(value)[:12]

    def subkey(self, purpose: str) -> bytes:
        """A key for another purpose (signing console sessions), derived from the one secret every
        replica already shares, so a session signed by one replica is good on all of them."""
        return hmac.new(self._key, b"subkey:" + purpose.encode(), hashlib.sha256).digest()


def normalise(value: str) -> str:
    """One form per value, so `Alice@Example.com ` and `alice@example.com` hash alike."""
    return " ".join(value.split()).casefold()


def hasher_for(config: Config) -> Hasher:
    """The hasher `serve` uses; commands that look values up (erasure) need the very same key."""
    return Hasher(load_hash_key(config.storage.hash_key_env, local_key_file(config.database_url, "hash.key")))


def load_hash_key(env_var: str, fallback_file: Path | None) -> bytes:
    """The key from `env_var`, else from a key file created on first use (mode 0600).

    Replicas that share a database must share the key, or their hashes stop matching and
    erasure by value breaks; so without a key file (a shared database) the env var is required."""
    if os.environ.get(env_var):
        return os.environ[env_var].encode()
    if fallback_file is None:
        raise ConfigError(
            f"storage.hash_key_env: set {env_var}; every replica sharing this database needs the same key"
        )
    key = read_or_create(fallback_file).encode()
    if not key:
        raise ConfigError(f"storage.hash_key_env: the key file {fallback_file} is empty; delete it or set {env_var}")
    return key
