"""Values under a key or a column header that names a kind of personal data.

Pasted data often says what it holds: a TSV of patients under `mrn name dob postcode`, a JSON
record with `"dob": "1998-05-30"`, an XML `<BirthDate>`, a log line `user=ana.silva`. Whatever the
value looks like, its key makes it personal. One pass over the text finds the keyed values of
every common format (JSON and Python dicts, XML elements, `key=value`, YAML and `Key: value`
lines) and one pass over its lines finds tables (tab, pipe, semicolon or comma separated, with
a header row); `field_names.field_type` says what each key names.

A generic key (`name`, `city`, `user`) counts only in a record that also has a key naming
personal data for sure (`email`, `dob`, `iban`, ...): a `name:` in a Kubernetes manifest or a
package.json stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from proxy.detection.field_names import ENTITIES, field_type
from proxy.detection.found import Found, SpanRecognizer
from proxy.detection.secrets import plausible_password

SCORE = 0.8
GENERIC_SCORE = 0.65

_KEYED = re.compile(
    r"\"(?P<jk>[^\"\\\n]{1,40})\"[ \t]*:[ \t]*(?:\"(?P<jv>(?:[^\"\\\n]|\\.){1,300})\"|(?P<jn>[-+]?\d[\d.]{0,30}))"
    r"|'(?P<pk>[^'\\\n]{1,40})'[ \t]*:[ \t]*'(?P<pv>[^'\\\n]{1,300})'"
    r"|<(?P<xk>[A-Za-z_][\w.:-]{0,40})(?:[ \t][^<>\n]{0,200})?>(?P<xv>[^<>\n]{1,300})</(?P=xk)>"
    r"|(?<![\w.$-])(?P<ak>[A-Za-z_][\w.-]{0,40})=(?:\"(?P<av>[^\"\n]{1,300})\"|'(?P<aq>[^'\n]{1,300})'"
    r"|(?P<ab>[^\s\"'<>,;&|]{1,300}))"
    r"|(?:^|(?<=[|;]))[ \t]*(?:-[ \t]+)?(?P<ck>[^\W\d][\w .'’/-]{0,30}?)[ \t]*:[ \t]+"
    r"(?P<cv>[^\n|;,]{1,200}?)[ \t]*(?=[|;,]|$)",
    re.MULTILINE,
)
_KEY_GROUPS = (("jk", "jv"), ("jk", "jn"), ("pk", "pv"), ("xk", "xv"), ("ak", "av"), ("ak", "aq"), ("ak", "ab"))
_DELIMITERS = ("\t", "|", ";", ",")
_MARKDOWN_RULE = re.compile(r"[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*")
_EMPTY = frozenset({"", "-", "--", "—", "n/a", "na", "null", "none", "nil", "true", "false", "unknown", "?"})
_ID_TYPES = frozenset(
    "MEDICAL_RECORD_NUMBER INSURANCE_ID CASE_NUMBER ACCOUNT_NUMBER TAX_ID US_SSN NATIONAL_ID PASSPORT_NUMBER "
    "DRIVER_LICENSE EMPLOYEE_ID POSTCODE IBAN_CODE PHONE_NUMBER DATE_OF_BIRTH".split()
)


@dataclass(frozen=True)
class KeyedValue:
    entity: str
    start: int
    end: int
    key: str
    generic: bool


def structured_values(text: str) -> list[KeyedValue]:
    """Every value whose key or column names personal data, generic keys only beside a sure one."""
    keyed = list(_keyed_values(text))
    if not any(not value.generic for value in keyed):
        keyed = []
    return keyed + list(_table_values(text))


def _keyed_values(text: str) -> Iterator[KeyedValue]:
    if not any(mark in text for mark in (":", "=", "</")):
        return
    for match in _KEYED.finditer(text):
        key_group, value_group = _groups(match)
        kind = field_type(match[key_group])
        if kind is None:
            continue
        found = _value(text, match.start(value_group), match.end(value_group), kind[0], match[key_group], kind[1])
        if found is not None:
            yield found


def _groups(match: re.Match[str]) -> tuple[str, str]:
    for key_group, value_group in _KEY_GROUPS:
        if match[value_group] is not None:
            return key_group, value_group
    return "ck", "cv"


def _table_values(text: str) -> Iterator[KeyedValue]:
    """Cells under a header row that names personal data, in the rows that follow it with as many
    cells (a Markdown separator row `|---|---|` is skipped)."""
    lines = _lines(text)
    index = 0
    while index < len(lines):
        header = _header(lines[index][2])
        if header is None:
            index += 1
            continue
        delimiter, columns = header
        index += 1
        while index < len(lines):
            start, _, line = lines[index]
            if delimiter == "|" and _MARKDOWN_RULE.fullmatch(line):
                index += 1
                continue
            cells = _cells(line, delimiter)
            if len(cells) != len(columns):
                break
            index += 1
            for (cell_start, cell_end), column in zip(cells, columns, strict=True):
                if column is None:
                    continue
                entity, key = column
                found = _value(text, start + cell_start, start + cell_end, entity, key, False)
                if found is not None:
                    yield found


def _lines(text: str) -> list[tuple[int, int, str]]:
    out, position = [], 0
    for line in text.split("\n"):
        out.append((position, position + len(line), line))
        position += len(line) + 1
    return out


def _header(line: str) -> tuple[str, list[tuple[str, str] | None]] | None:
    """(delimiter, what each column names) when `line` is a header naming personal data: one sure
    column, or two columns of different kinds."""
    for delimiter in _DELIMITERS:
        if delimiter not in line:
            continue
        cells = _cells(line, delimiter)
        if len(cells) < 2:
            continue
        names = [line[a:b] for a, b in cells]
        kinds = [field_type(name) for name in names]
        sure = any(k is not None and not k[1] for k in kinds)
        distinct = {k[0] for k in kinds if k is not None}
        if sure or len(distinct) >= 2:
            return delimiter, [(k[0], n) if k is not None else None for k, n in zip(kinds, names, strict=True)]
    return None


def _cells(line: str, delimiter: str) -> list[tuple[int, int]]:
    """Spans of a line's cells, stripped of spaces and quotes; the outer pipes of a Markdown row
    are not cells."""
    spans, start = [], 0
    for part in line.split(delimiter):
        end = start + len(part)
        left = start + len(part) - len(part.lstrip(" \"'"))
        right = end - (len(part) - len(part.rstrip(" \"'")))
        spans.append((left, max(left, right)))
        start = end + 1
    if delimiter == "|" and line.strip().startswith("|"):
        spans = spans[1:]
    if delimiter == "|" and line.strip().endswith("|"):
        spans = spans[:-1]
    return spans


def _value(text: str, start: int, end: int, entity: str, key: str, generic: bool) -> KeyedValue | None:
    """The keyed value, if it could be what its key says (a date of birth has digits, a name has no
    digits, a secret is no placeholder), trimmed of quotes and a trailing comment."""
    raw = text[start:end]
    trimmed = raw.split(" #", 1)[0].rstrip().rstrip(",").strip("\"' ")
    if not trimmed:
        return None
    start += raw.index(trimmed)
    end = start + len(trimmed)
    return KeyedValue(entity, start, end, key, generic) if _plausible(entity, trimmed) else None


def _plausible(entity: str, value: str) -> bool:
    if value.lower() in _EMPTY or len(value) > 200 or value[0] in "{[<$%":
        return False
    digits = sum(c.isdigit() for c in value)
    if entity in _ID_TYPES:
        return digits >= 2
    if entity in ("PERSON", "RESIDENCE"):
        return digits == 0 and any(c.isalpha() for c in value) and len(value.split()) <= 5
    if entity in ("PASSWORD", "GENERIC_SECRET"):
        return len(value) >= 4 and " " not in value and plausible_password(value)
    if entity == "EMAIL_ADDRESS":
        return "@" in value
    return any(c.isalnum() for c in value)


class StructureRecognizer(SpanRecognizer):
    """Values of keys and table columns that name personal data (see the module docstring)."""

    NAME = "StructureRecognizer"
    ENTITIES = ENTITIES

    def find(self, text: str) -> Iterator[Found]:
        for value in structured_values(text):
            score = GENERIC_SCORE if value.generic else SCORE
            yield Found(value.entity, value.start, value.end, score, f"under the key {value.key!r}")
