"""`data:` URLs in base64. A payload that decodes to text is read decoded (whatever its declared
type: a text sent as `image/png` is still text) and stands for the whole URL. A binary one (a
real image) is taken out of what detection reads, since base64 noise only looks like secrets;
one too large to decode stays as it is. Percent-encoded payloads were already decoded (`percent`)."""

from __future__ import annotations

import re

from proxy.detection.canonical.media import MAX_DECODED, as_text, decode_base64
from proxy.detection.canonical.offsets import Edit

DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[\w.+\"-]+)*);base64,([A-Za-z0-9+/_-]+={0,2})", re.I)


def edits(text: str) -> list[Edit]:
    if "data:" not in text.lower():
        return []
    found = []
    for match in DATA_URL.finditer(text):
        if len(match[3]) * 3 // 4 > MAX_DECODED:
            continue  # read as it is: `max_scan_chars` bounds what that costs
        data = decode_base64(match[3])
        decoded = as_text(data) if data is not None else None
        found.append(Edit(match.start(), match.end(), decoded or "", payload=bool(decoded)))
    return found
