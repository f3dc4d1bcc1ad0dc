"""Compress every payload; encrypt those that hold raw personal data (AES-256-GCM), always.

The keys are `storage.data_keys` (the first seals, all open). Without them, a SQLite deployment
seals with `data.key`, a key file created beside its database (mode 0600) and kept afterwards
for opening what it sealed; a shared (PostgreSQL) database must be given keys, or the proxy
refuses to start: nothing is kept in the clear by default.

The request id and payload kind are bound in as associated data, so a sealed blob copied onto
another row fails to open instead of passing as that row's data.
"""

from __future__ import annotations

import base64
import binascii
import os
import zlib
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from proxy.config import Config, ConfigError, DataKeyConfig
from proxy.local_keys import local_key_file, read_or_create

SENSITIVE_KINDS = {"original", "response_returned"}  # both hold the values the client sent
LOCAL_KEY_ID = "local"  # the key in `data.key` beside a SQLite database
LOCAL_KEY_FILE = "data.key"


class Sealer:
    """Seals and opens payloads with the configured data keys."""

    def __init__(self, keys: dict[str, bytes], active: str | None) -> None:
        self._keys = keys
        self._active = active

    @classmethod
    def from_config(cls, configs: list[DataKeyConfig]) -> Sealer:
        keys = {c.id: _read_key(c) for c in configs}
        return cls(keys, configs[0].id if configs else None)

    @property
    def key_ids(self) -> list[str]:
        """The sealing key first, then the ones kept for opening."""
        return sorted(self._keys, key=lambda key_id: key_id != self._active)

    def seal(self, data: bytes, request_id: str, kind: str) -> tuple[bytes, str, str | None]:
        """(blob, encoding, key id) for one payload."""
        compressed = zlib.compress(data, 6)
        if self._active is None or kind not in SENSITIVE_KINDS:
            return compressed, "zlib", None
        nonce = os.urandom(12)
        sealed = AESGCM(self._keys[self._active]).encrypt(nonce, compressed, f"{request_id}/{kind}".encode())
        return nonce + sealed, "zlib+aesgcm", self._active

    def open(self, blob: bytes, encoding: str, key_id: str | None, request_id: str, kind: str) -> bytes:
        if encoding == "zlib+aesgcm":
            if key_id not in self._keys:
                raise KeyError(f"data key {key_id!r} is not configured")
            key = self._keys[key_id]
            blob = AESGCM(key).decrypt(blob[:12], blob[12:], f"{request_id}/{kind}".encode())
        return zlib.decompress(blob)


def _read_key(config: DataKeyConfig) -> bytes:
    raw = os.environ.get(config.env)
    if not raw:
        raise ConfigError(f"storage.data_keys: environment variable {config.env} (key {config.id!r}) is not set")
    try:
        key = base64.b64decode(raw, validate=True)
    except binascii.Error:
        raise ConfigError(f"storage.data_keys: {config.env} is not base64") from None
    if len(key) != 32:
        raise ConfigError(f"storage.data_keys: {config.env} must decode to 32 bytes, not {len(key)}")
    return key


def sealer_for(config: Config) -> Sealer:
    """The sealer `serve` and every command that reads payloads use: the configured keys, plus the
    local key file of a SQLite database (created when no key is configured)."""
    configured = config.storage.data_keys
    keys = {c.id: _read_key(c) for c in configured}
    active = configured[0].id if configured else None
    local = local_key_file(config.database_url, LOCAL_KEY_FILE)
    if local is not None and (active is None or local.exists()):
        keys.setdefault(LOCAL_KEY_ID, _local_key(local))
        active = active or LOCAL_KEY_ID
    if active is None:
        raise ConfigError(
            "storage.data_keys: a shared database needs data keys so that original requests are stored "
            "encrypted; add at least one key (id and env) to storage.data_keys, the same on every replica"
        )
    return Sealer(keys, active)


def _local_key(path: Path) -> bytes:
    try:
        key = bytes.fromhex(read_or_create(path))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError(f"storage.data_keys: the key file {path} is damaged (not 32 bytes in hex); restore it")
    return key
