"""URLs that point at one person: a social profile (`linkedin.com/in/...`, `github.com/<user>`,
`x.com/<handle>`), a `mailto:` link, or a link carrying an e-mail address in its query
(`...unsubscribe?email=ana%40mail.pt`). As PERSONAL_URL, whole: the handle is the person. People
write profiles without the scheme (`instagram.com/ana.silva`, `twitch.tv/ana`): those count too,
but not the bare site (`instagram.com`) nor one of its own pages (`x.com/explore`).

A URL of a project or an organisation (`github.com/psf/requests`) names no one and stays, unless
its owner is a login of the same text (the user of URL credentials `https://jdoe:...@`, an `@jdoe`
mention, "denied to jdoe"): then `github.com/jdoe/thesis` is that person's repository. A relative
link whose query carries an e-mail address (`/reset?email=a.b%40host.pl` in an access log) is one too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from proxy.detection.found import Found, SpanRecognizer

SCORE = 0.7
# Where a profile URL starts: its scheme, or its host with nothing glued before it (not inside an
# e-mail address, a longer host or a path).
_START = r"(?:https?://|(?<![\w.@/-]))"
# A handle: it may hold dots but does not end with one (the end of a sentence).
_HANDLE = r"[\w.%@-]{1,99}[\w%@-]"
_END = r"(?=[\s)\]>\"'<.,;:!?]*(?:\s|$))"
_TAIL = r"[^\s)\]>\"'<]*?"
PATTERNS = {
    "social profile": (
        rf"{_START}(?:[\w-]+\.)?(?:linkedin\.com/in|xing\.com/profile|facebook\.com|instagram\.com|twitter\.com|x\.com"
        r"|tiktok\.com/@|t\.me|youtube\.com/@|medium\.com/@|threads\.net/@|bsky\.app/profile|twitch\.tv"
        rf"|reddit\.com/u(?:ser)?|snapchat\.com/add|pinterest\.com|soundcloud\.com)/?{_HANDLE}/?{_END}"
    ),
    "code host user": rf"{_START}(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org)/[\w-]{{2,39}}/?" + _END,
    "fediverse handle": r"https?://[\w.-]+\.[a-z]{2,}/@[\w.-]{2,64}/?" + _END,
    "mailto link": r"mailto:[^\s)\]>\"'<?]{3,200}(?:\?[^\s)\]>\"'<]*)?",
    "e-mail in a query": rf"https?://[^\s)\]>\"'<?]{{1,200}}\?{_TAIL}(?:@|%40){_TAIL}" + _END,
    "e-mail in a relative link's query": r"(?<![^\s\"'(=])/[\w./~-]{0,200}\?[^\s)\]>\"'<]{0,200}?"
    r"[\w.+-]{1,64}(?:@|%40)[\w-]{1,63}(?:\.[\w-]{1,63})+[^\s)\]>\"'<]{0,200}?" + _END,
}
# A repository under an owner's name; personal when the owner is a login elsewhere in the text.
_REPOSITORY = re.compile(
    rf"{_START}(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org)/(?P<owner>[\w.-]{{2,39}})/[\w.-]{{1,100}}"
    r"(?:/[^\s)\]>\"'<]{0,200}?)?/?" + _END,
    re.IGNORECASE,
)
_LOGINS = re.compile(
    r"https?://(?P<user>[\w.-]{2,39})(?::[^\s@/]{0,256})?@|(?<![\w.])@(?P<mention>[\w-]+(?:\.[\w-]+)*)"
    r"|\b(?:denied to|user(?:name)?[:=]?|login[:=]?|signed in as|logged in as)[ \t]+(?P<named>[\w-]{2,39})",
    re.IGNORECASE,
)
_PATTERNS = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in PATTERNS.items()]
# Pages of the networks themselves, not of a person.
_SITE_PAGES = re.compile(
    r"/(?:about|help|legal|privacy|terms|login|signup|settings|features|pricing|explore|search|home|i|hashtag|watch"
    r"|directory|groups|events|pages|marketplace|reels?|stories|share|sharer|intent|messages|notifications|download"
    r"|jobs|trending|topics|business|developers|docs|blog|careers|status|contact|support|sponsors|orgs|enterprise"
    r"|security|issues|pulls|new|organizations|apps|collections|codespaces|copilot)/?$"
)


def personal_urls(text: str) -> Iterator[Found]:
    """Every URL in `text` that points at one person (see the module docstring)."""
    for name, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if not _SITE_PAGES.search(match[0]):
                yield Found("PERSONAL_URL", match.start(), match.end(), SCORE, name)
    yield from _owned_repositories(text)


def _owned_repositories(text: str) -> Iterator[Found]:
    """Code-host repositories whose owner is a login named elsewhere in the text."""
    repositories = list(_REPOSITORY.finditer(text))
    if not repositories:
        return
    logins = {(m["user"] or m["mention"] or m["named"]).casefold() for m in _LOGINS.finditer(text)}
    for match in repositories:
        if match["owner"].casefold() in logins:
            yield Found("PERSONAL_URL", match.start(), match.end(), SCORE, "repository of a named user")


class PersonalUrlRecognizer(SpanRecognizer):
    """PERSONAL_URL (see the module docstring)."""

    NAME = "PersonalUrlRecognizer"
    ENTITIES = ("PERSONAL_URL",)

    def find(self, text: str) -> Iterator[Found]:
        return personal_urls(text)
