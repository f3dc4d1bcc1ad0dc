"""JSON string escapes inside text: a tool result built with Python's default `json.dumps`
writes "J\\u00fcrgen M\\u00fcller", which no detector reads as a name."""

from __future__ import annotations

import re

from proxy.detection.canonical.offsets import Edit

ESCAPE = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u([0-9a-f]{4})", re.IGNORECASE)


def edits(text: str) -> list[Edit]:
    """Each `\\uXXXX` (or surrogate pair) as the character it names; lone surrogates stay."""
    if "\\u" not in text and "\\U" not in text:
        return []
    found = []
    for match in ESCAPE.finditer(text):
        high, low, single = match.groups()
        if single is not None:
            code = int(single, 16)
            if 0xD800 <= code <= 0xDFFF:
                continue  # half a pair: not a character
        else:
            code = 0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00)
        found.append(Edit(match.start(), match.end(), chr(code)))
    return found
