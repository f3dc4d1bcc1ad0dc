"""Placeholders: the one place that knows their grammar, how they are issued and how a model
may write them back.

The proxy issues `<ENTITY_TYPE_N>`, numbered per type in order of first appearance in the
request. A conversation resends its history in the same order, so every turn gets the same
tokens without the proxy keeping any state between requests.

Two things keep a placeholder from ever meaning two things:

- **Issued past the client's own.** Text a client sends may already hold placeholder-shaped
  tokens (a template, a proxy export, a previous answer). Numbering for a type starts after
  the highest number of that type already in the request, in any form a model could write it,
  so an issued token never equals text the client wrote, and restoring never overwrites it.
- **Restored only when issued.** A token in the answer is restored only if this request issued
  it; every other one is left exactly as it is (and counted when it has the issued shape).

Models rewrite tokens, so restoration accepts the forms they plausibly produce: any case,
square brackets, spaces inside the brackets, HTML escapes (`&lt;PERSON_1&gt;`), JSON escapes
(`\\u003cPERSON_1\\u003e` inside tool arguments), Markdown escapes (`\\<PERSON\\_1\\>`) and the bare
`PERSON_1`. Possessives and Markdown around a token need nothing: they are outside it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from proxy.hashing import normalise

#: the form the proxy issues
ISSUED = re.compile(r"<([A-Z][A-Z0-9_]*)_(\d+)>")
#: every token the proxy writes in place of a value: `<PERSON_1>` (pseudonymize),
#: `<IP_ADDRESS#3f9a1c2b7d4e>` (hash), `<US_SSN>` (redact)
WRITTEN = re.compile(r"<([A-Z][A-Z0-9_]*?)(_\d+|#[0-9a-f]+)?>")
_OPENS = ("&lt;", "\\u003c", "\\<", "<", "[")
_CLOSE = r"&gt;|\\u003e|\\>|>|\]"
_MARKS = r"<\[&\\"  # the first characters of the opening marks, for a character class
_LONGEST_OPEN = len("\\u003c")
_DIGITS = 9  # a number longer than this is not one the proxy issued
_REMEMBERED = 256  # written forms whose value one request keeps (a made-up answer cannot grow it without end)

# Every pattern below begins with a character class of where a form can begin (an opening
# mark's first character, an issued type's initial) and goes on from after that character.
# `re` then skips in C to such a character (its "charset prefix") instead of trying every
# branch at every position, and words are read as trees (`_tree`), not as alternations of
# every prefix: these searches run on every delta of a stream that may hold a placeholder.
_NEVER = "(?!)"


def _tree(words: Iterable[str], after_word: str = "", unfinished: str = _NEVER, read: str = "") -> str:
    """`words` read one character at a time, each shared beginning once (`P(?:E(?:R...`),
    from after `read`: a complete word goes on with `after_word`, and a word's beginning may
    end with `unfinished` (by default it may not)."""
    words = set(words)
    nexts = sorted({word[len(read)] for word in words if len(word) > len(read) and word.startswith(read)})
    branches = [re.escape(c) + _tree(words, after_word, unfinished, read + c) for c in nexts]
    return "(?:" + "|".join([*branches, after_word if read in words else unfinished]) + ")"


def _after_first(words: Iterable[str], after_word: str = "", unfinished: str = _NEVER) -> str:
    """`_tree` of `words` once their first character has been read: `(?<=P)(?:E(?:R...`."""
    words = set(words)
    initials = sorted({word[0] for word in words})
    return "|".join(rf"(?<={re.escape(c)}){_tree(words, after_word, unfinished, c)}" for c in initials)


def _initials(types: tuple[str, ...] | None) -> str:
    """The first characters of `types` (None: any type), for a character class."""
    return "A-Z" if types is None else re.escape("".join(sorted({t[0] for t in types})))


@lru_cache(maxsize=256)
def _forms(types: tuple[str, ...] | None) -> re.Pattern[str]:
    """Every written form of a placeholder of `types` (None: of any type).

    A bracketed form needs a closing bracket; a bare one must stand as a word of its own, so
    `SUPERPERSON_12` is not `PERSON_1`. A bare token is matched only in capitals, as issued."""
    name = "|".join(re.escape(t) for t in types) if types else r"[A-Z][A-Z0-9_]*?"
    rest = _after_first(types) if types else r"[A-Z0-9_]*?"
    opened = rf"(?:{_after_first(_OPENS)})[ ]?(?P<type>{name})\\?_(?P<n>\d{{1,{_DIGITS}}})[ ]?(?:{_CLOSE})"
    bare = rf"(?<=[{_initials(types)}])(?<![\w<\[\\;&].)(?:{rest})\\?_(?P<bn>\d{{1,{_DIGITS}}})(?![\w>\]])"
    return re.compile(rf"[{_MARKS}{_initials(types)}](?:(?<=[{_MARKS}])(?i:{opened})|{bare})")


def _parts(match: re.Match[str]) -> tuple[str, int]:
    """The entity type and the number a match names, however it was written."""
    if match.group("type") is not None:
        return match.group("type").upper(), int(match.group("n"))
    name = match.group(0)[: match.start("bn") - match.start() - 1]  # without `_` and the number
    return name.removesuffix("\\").upper(), int(match.group("bn"))


@lru_cache(maxsize=256)
def _names(types: tuple[str, ...]) -> Callable[[str], object]:
    """A search for any of `types` in any case (a cheap test before the full forms)."""
    return re.compile("|".join(re.escape(t) for t in types), re.IGNORECASE).search


@lru_cache(maxsize=256)
def _unfinished(types: tuple[str, ...]) -> re.Pattern[str]:
    """A text, from where it matches to its end, that more text could still make into a form
    of `types` (or grow: a bare `PERSON_1` may yet become `PERSON_12`)."""
    number = rf"\\?_\d{{0,{_DIGITS}}}"
    closing = _tree(["&gt;", "\\u003e", "\\>"], _NEVER, "")  # the beginning of a closing mark, or nothing
    name = _tree(types, rf"(?:\\|{number}[ ]?{closing})?", "")  # a name's beginning, or nothing
    opened = _after_first(_OPENS, rf"[ ]?{name}", "")  # a mark or its beginning, then the above
    bare = _after_first(types, rf"(?:\\|{number})?", "")
    return re.compile(rf"[{_MARKS}{_initials(types)}](?:(?<=[{_MARKS}])(?i:{opened})|(?<![\w<\[\\;&].)(?:{bare}))\Z")


@lru_cache(maxsize=256)
def _notable(types: tuple[str, ...]) -> re.Pattern[str]:
    """Text worth a closer look: an opening mark followed by an issued type's name (or, at the
    end, by its beginning or nothing), the beginning of an opening mark at the end, or a word
    that is a type's name or, at the end, its beginning."""
    at_end = r"\Z"
    opened = _after_first(_OPENS, rf"[ ]?{_tree(types, '', at_end)}", at_end)
    word = rf"(?<!\w\w)(?:{_after_first(types, '', at_end)})"
    return re.compile(rf"[{_MARKS}{_initials(types)}](?:(?<=[{_MARKS}])(?i:{opened})|{word})")


def _token(match: re.Match[str]) -> str:
    entity, number = _parts(match)
    return f"<{entity}_{number}>"


def reserved(texts: Iterable[str]) -> dict[str, int]:
    """Per entity type, the highest placeholder number already written in the client's text."""
    highest: dict[str, int] = {}
    pattern = _forms(None)
    for text in texts:
        if "_" not in text:
            continue
        for match in pattern.finditer(text):
            entity, number = _parts(match)
            highest[entity] = max(highest.get(entity, 0), number)
    return highest


@dataclass
class PseudonymMap:
    """Placeholder <-> original value for one request, issued past the numbers in `taken`."""

    taken: dict[str, int] = field(default_factory=dict)  # entity type -> highest number in the client's text
    originals: dict[str, str] = field(default_factory=dict)  # token -> first-seen original
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def token_for(self, entity_type: str, value: str) -> str:
        """The placeholder for this value, the same one each time it appears."""
        key = (entity_type, normalise(value))
        if key not in self._tokens:
            self.taken[entity_type] = self.taken.get(entity_type, 0) + 1
            token = f"<{entity_type}_{self.taken[entity_type]}>"
            self._tokens[key] = token
            self.originals[token] = value
        return self._tokens[key]


def hashed(entity_type: str, code: str) -> str:
    """The `hash` action's token: the same keyed code for the same value in every request."""
    return f"<{entity_type}#{code}>"


def redacted(entity_type: str) -> str:
    """The `redact` action's token: the type only."""
    return f"<{entity_type}>"


def json_escape(value: str) -> str:
    """A value as it must appear inside a JSON string (tool-call arguments)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _html_escape(value: str) -> str:
    return html.escape(value, quote=False)


class Forms:
    """The placeholders one request issued, found however the model wrote them."""

    def __init__(self, originals: dict[str, str]) -> None:
        self.originals = originals
        issued = (ISSUED.fullmatch(token) for token in originals)
        types = sorted({match.group(1) for match in issued if match}, key=len, reverse=True)  # longest first
        self._pattern = _forms(tuple(types)) if types else None
        #: a search for an issued type's name in any case: without one, no form can be in a text
        self._named: Callable[[str], object] = _names(tuple(types)) if types else self._nothing
        #: per written form, its value (and its value inside a JSON string): models repeat forms
        self._values: tuple[dict[str, str], dict[str, str]] = ({}, {})
        # a character every notable text holds: an opening mark's first, or an issued type's initial
        capitals = re.escape("".join(sorted({t[0] for t in types})))
        #: a search for those characters: most deltas have none, and it is several times cheaper
        #: than `notable`, so the test run on every delta is `marks` first, `notable` only after it
        self.marks: Callable[[str], object] = re.compile(rf"[<\[&\\{capitals}]").search if types else self._nothing
        #: `may_begin` as a bare search (`None`: nothing notable)
        self.notable: Callable[[str], object] = _notable(tuple(types)).search if types else self._nothing
        self._unfinished = _unfinished(tuple(types)) if types else None
        self.longest = _LONGEST_OPEN * 2 + 4 + _DIGITS + max((len(t) for t in types), default=0)

    def restore(self, text: str, in_json: bool = False, before: str = "") -> str:
        """`text` with every issued placeholder replaced by its original. `in_json`: the text is
        the inside of a JSON string, so values are escaped for it; `before`: the character that
        precedes it (in a stream), so `X` + `PERSON_1` is not taken for a bare token."""
        if self._pattern is None or "_" not in text or self._named(text) is None:
            return text
        if not before:
            return self._pattern.sub(lambda match: self._value(match, in_json), text)
        subject, out, last = before + text, [], len(before)
        for match in self._pattern.finditer(subject, len(before)):
            out += [subject[last : match.start()], self._value(match, in_json)]
            last = match.end()
        return "".join([*out, subject[last:]])

    def _value(self, match: re.Match[str], in_json: bool) -> str:
        """What replaces a match; the written form alone decides it, so it is worked out once."""
        values, written = self._values[in_json], match.group(0)
        value = values.get(written)
        if value is None:
            value = self._resolve(match, in_json)
            if len(values) < _REMEMBERED:
                values[written] = value
        return value

    def _resolve(self, match: re.Match[str], in_json: bool) -> str:
        original = self.originals.get(_token(match))
        if original is None:
            return match.group(0)  # not issued by this request: the client's or the model's own
        opener = match.group(0)[:_LONGEST_OPEN].lower()
        if opener.startswith("&lt;"):
            original = _html_escape(original)
        if in_json or opener.startswith("\\u003c"):
            original = json_escape(original)
        return original

    def may_begin(self, text: str) -> bool:
        """Whether a form of an issued placeholder could begin anywhere in `text` (without the
        text before it, a word at the start counts as one: the answer errs towards looking)."""
        return self.marks(text) is not None and self.notable(text) is not None

    @staticmethod
    def _nothing(text: str) -> None:
        return None

    def hold_from(self, text: str, before: str = "") -> int:
        """Where a placeholder that more text could still complete begins (or `len(text)`).

        A bare token that reaches the end may yet grow (`PERSON_1` then `2`), so it waits too."""
        if self._unfinished is None:
            return len(text)
        subject = before + text
        # the leftmost place from which the rest could still become a form (anchored at the end)
        found = self._unfinished.search(subject, max(len(subject) - self.longest, len(before)))
        return len(text) if found is None else found.start() - len(before)


def count_unrestored(text: str) -> int:
    """Tokens of the issued shape left in an answer: made up or mangled by the model, or the
    client's own text repeated back."""
    return len(ISSUED.findall(text))
