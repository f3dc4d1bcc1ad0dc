"""Compress every payload; encrypt those that hold raw personal data (AES-256-GCM).

The request id and payload kind are bound in as associated data, so a sealed blob copied onto
another row fails to open instead of passing as that row's data.
"""

from __future__ import annotations

import base64
import binascii
import os
import zlib

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from proxy.config import ConfigError, DataKeyConfig

SENSITIVE_KINDS = {"original", "response_returned"}  # both hold the values the client sent


class Sealer:
    """Seals and opens payloads with the configured data keys."""

    def __init__(self, keys: dict[str, bytes], active: str | None) -> None:
        self._keys = keys
        self._active = active

    @classmethod
    def from_config(cls, configs: list[DataKeyConfig]) -> Sealer:
        keys = {c.id: _read_key(c) for c in configs}
        return cls(keys, configs[0].id if configs else None)

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
