"""URL percent-encoding: `jane%40example.org`. A token holding `%XX` is decoded as UTF-8, a few
times over for `%2540`, and stands whole for what it decodes to."""

from __future__ import annotations

import re
from urllib.parse import unquote

from proxy.detection.canonical.offsets import Edit

# a whole token (from a space to a space) holding `%XX`: anchored at the token's start, so a long
# token without one is scanned once, not once per character
TOKEN = re.compile(r"(?<!\S)\S*?%[0-9A-Fa-f]{2}\S*")
ROUNDS = 3  # %2540 -> %40 -> @; deeper nesting is not text anyone writes by hand


def edits(text: str) -> list[Edit]:
    if "%" not in text:
        return []
    found = []
    for match in TOKEN.finditer(text):
        decoded = match[0]
        for _ in range(ROUNDS):
            try:
                again = unquote(decoded, errors="strict")
            except UnicodeDecodeError:
                break  # bytes, not text
            if again == decoded:
                break
            decoded = again
        if decoded != match[0]:
            found.append(Edit(match.start(), match.end(), decoded))
    return found
