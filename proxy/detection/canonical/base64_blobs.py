"""Base64 blobs that decode to text. The blob stays where it is (a secret can look like base64
and must still be seen as itself); what it decodes to is read right after it, and stands for
the whole blob, so an action covers the blob."""

from __future__ import annotations

import re

from proxy.detection.canonical.media import as_text, decode_base64
from proxy.detection.canonical.offsets import Edit

# 16+ characters: shorter runs are words and ids far more often than encoded text
BLOB = re.compile(r"(?<![\w+/-])[A-Za-z0-9+/_-]{16,}={0,2}(?![\w+/=-])")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2}")


def edits(text: str) -> list[Edit]:
    found = []
    for match in BLOB.finditer(text):
        for start, end in _candidates(match):
            decoded = _decoded(text[start:end])
            if decoded:
                found.append(Edit(end, end, " " + decoded, (start, end), payload=True))
                break
    return found


def _candidates(match: re.Match[str]) -> list[tuple[int, int]]:
    """The run itself, then (in a URL path, where `/` separates rather than encodes) each of its
    `/`-separated segments long enough to be a blob."""
    spans = [(match.start(), match.end())]
    if "/" in match[0]:
        position = match.start()
        for segment in match[0].split("/"):
            if len(segment) >= 16:
                spans.append((position, position + len(segment)))
            position += len(segment) + 1
    return spans


def _decoded(blob: str) -> str | None:
    if not _BASE64.fullmatch(blob) or not _mixed(blob):
        return None
    data = decode_base64(blob)
    return as_text(data) if data is not None else None


def _mixed(blob: str) -> bool:
    """Encoded text mixes cases or digits; a long plain word or a number does not."""
    return not (blob.isalpha() and (blob.islower() or blob.isupper())) and not blob.isdigit()
