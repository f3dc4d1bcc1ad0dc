"""Bytes that are text: what decides whether a base64 blob or a `data:` URL is scanned."""

from __future__ import annotations

import base64
import binascii

MAX_DECODED = 1 << 20  # bytes: a larger payload is left as it is (and the body limit applies)
_PRINTABLE = 0.9  # share of printable characters in decoded text; binary data rarely gets close


def decode_base64(blob: str) -> bytes | None:
    """The bytes a base64 (or base64url) blob holds; None when it is not one or is too large."""
    if len(blob) * 3 // 4 > MAX_DECODED:
        return None
    core = blob.rstrip("=")
    if len(core) % 4 == 1:
        return None
    padded = core + "=" * (-len(core) % 4)
    try:
        if "-" in core or "_" in core:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def as_text(data: bytes) -> str | None:
    """`data` as text when it is UTF-8 that reads as text, else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text:
        return None
    printable = sum(1 for char in text if char.isprintable() or char in "\n\r\t")
    return text if printable >= _PRINTABLE * len(text) else None
