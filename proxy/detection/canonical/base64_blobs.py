"""Base64 blobs that decode to text. The blob stays where it is (a secret can look like base64
and must still be seen as itself); what it decodes to is read right after it, and stands for
the whole blob, so an action covers the blob."""

from __future__ import annotations

import re

from proxy.detection.canonical.media import as_text, decode_base64
from proxy.detection.canonical.offsets import Edit

# 16+ characters: shorter runs are words and ids far more often than encoded text
BLOB = re.compile(r"(?<![\w+/=-])[A-Za-z0-9+/_-]{16,}={0,2}(?![\w+/=-])")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2}")


def edits(text: str) -> list[Edit]:
    found = []
    for match in BLOB.finditer(text):
        blob = match[0]
        if not _BASE64.fullmatch(blob) or not _mixed(blob):
            continue
        data = decode_base64(blob)
        decoded = as_text(data) if data is not None else None
        if decoded:
            found.append(Edit(match.end(), match.end(), " " + decoded, (match.start(), match.end()), payload=True))
    return found


def _mixed(blob: str) -> bool:
    """Encoded text mixes cases or digits; a long plain word or a number does not."""
    return not (blob.isalpha() and (blob.islower() or blob.isupper())) and not blob.isdigit()
