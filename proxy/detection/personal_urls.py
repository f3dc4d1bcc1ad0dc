"""URLs that point at one person: a social profile (`linkedin.com/in/...`, `github.com/<user>`,
`x.com/<handle>`), a `mailto:` link, or a link carrying an e-mail address in its query
(`...unsubscribe?email=ana%40mail.pt`). As PERSONAL_URL, whole: the handle is the person.

A URL of a project or an organisation (`github.com/psf/requests`) names no one and stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from proxy.detection.found import Found, SpanRecognizer

SCORE = 0.7
_END = r"(?=[\s)\]>\"'<.,;!?]*(?:\s|$))"
_TAIL = r"[^\s)\]>\"'<]*?"
PATTERNS = {
    "social profile": (
        r"https?://(?:[\w-]+\.)?(?:linkedin\.com/in|xing\.com/profile|facebook\.com|instagram\.com|twitter\.com|x\.com"
        r"|tiktok\.com/@|t\.me|youtube\.com/@|medium\.com/@|threads\.net/@|bsky\.app/profile)/?[\w.%@-]{2,100}"
        rf"/?{_END}"
    ),
    "code host user": r"https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org)/[\w-]{2,39}/?" + _END,
    "fediverse handle": r"https?://[\w.-]+\.[a-z]{2,}/@[\w.-]{2,64}/?" + _END,
    "mailto link": r"mailto:[^\s)\]>\"'<?]{3,200}(?:\?[^\s)\]>\"'<]*)?",
    "e-mail in a query": rf"https?://[^\s)\]>\"'<?]{{1,200}}\?{_TAIL}(?:@|%40){_TAIL}" + _END,
}
_PATTERNS = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in PATTERNS.items()]
# Pages of the networks themselves, not of a person.
_SITE_PAGES = re.compile(
    r"/(?:about|help|legal|privacy|terms|login|signup|settings|features|pricing|explore|search)/?$"
)


def personal_urls(text: str) -> Iterator[Found]:
    for name, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if not _SITE_PAGES.search(match[0]):
                yield Found("PERSONAL_URL", match.start(), match.end(), SCORE, name)


class PersonalUrlRecognizer(SpanRecognizer):
    """PERSONAL_URL (see the module docstring)."""

    NAME = "PersonalUrlRecognizer"
    ENTITIES = ("PERSONAL_URL",)

    def find(self, text: str) -> Iterator[Found]:
        return personal_urls(text)
