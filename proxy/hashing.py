"""Keyed hashes: the same value gives the same digest under one key, and nobody without the
key can test a guess against a digest (a plain SHA-256 of an e-mail address can be brute-forced)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from proxy.config import Config, ConfigError


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
    key_file = _data_dir(config.database_url) / "hash.key" if config.database_url.startswith("sqlite") else None
    return Hasher(load_hash_key(config.storage.hash_key_env, key_file))


def _data_dir(database_url: str) -> Path:
    """Where local secrets live: beside the SQLite file, else ./data."""
    if database_url.startswith("sqlite:///") and not database_url.endswith(":memory:"):
        return Path(database_url.removeprefix("sqlite:///")).parent
    return Path("./data")


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
    if not fallback_file.exists():
        _create_key_file(fallback_file)
    key = fallback_file.read_text().strip().encode()
    if not key:
        raise ConfigError(f"storage.hash_key_env: the key file {fallback_file} is empty; delete it or set {env_var}")
    return key


def _create_key_file(path: Path) -> None:
    """Write a new random key where no key exists yet, atomically: several workers may start at
    once, and none may read a half-written file or replace another's key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)  # fails if another process got there first; then use theirs
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
