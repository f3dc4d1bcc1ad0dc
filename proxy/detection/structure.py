"""Values under a key or a column header that names a kind of personal data.

Pasted data often says what it holds: a TSV of patients under `mrn name dob postcode`, a JSON
record with `"dob": "1998-05-30"`, an XML `<BirthDate>`, a log line `user=ana.silva`. Whatever the
value looks like, its key makes it personal. One pass over the text finds the keyed values of
every common format (JSON and Python dicts, XML elements, `key=value`, SQL `col = 'value'`, YAML
and `Key: value` lines); one pass over its lines finds tables under a header row: tab, pipe,
semicolon or comma separated (a quoted cell may hold the delimiter), psql and MySQL query results
(their `---+---` rules skipped), and fixed-width columns aligned by spaces; SQL `INSERT` rows are
read under their column list (`sql_values.py`), HTML `<td>` cells under a row of `<th>`.
`field_names.field_type` says what each key names.

A generic key (`name`, `city`, `user`) counts only in a record that also has a key naming
personal data for sure (`email`, `dob`, `iban`, ...): a `name:` in a Kubernetes manifest or a
package.json stays, and so does `user="reporting"` beside a password.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from proxy.detection.field_names import ENTITIES, field_type, normalise
from proxy.detection.found import Found, SpanRecognizer
from proxy.detection.secrets import plausible_password, plausible_secret
from proxy.detection.sql_values import inserted_rows

SCORE = 0.8
GENERIC_SCORE = 0.65

_KEYED = re.compile(
    r"\"(?P<jk>[^\"\\\n]{1,40})\"[ \t]*:[ \t]*(?:\"(?P<jv>(?:[^\"\\\n]|\\.){1,300})\"|(?P<jn>[-+]?\d[\d.]{0,30}))"
    r"|'(?P<pk>[^'\\\n]{1,40})'[ \t]*:[ \t]*'(?P<pv>[^'\\\n]{1,300})'"
    r"|<(?P<xk>[A-Za-z_][\w.:-]{0,40})(?:[ \t][^<>\n]{0,200})?>(?P<xv>[^<>\n]{1,300})</(?P=xk)>"
    r"|(?<![\w.$-])(?P<ak>[A-Za-z_][\w.-]{0,40})=(?:\"(?P<av>[^\"\n]{1,300})\"|'(?P<aq>[^'\n]{1,300})'"
    r"|(?P<ab>[^\s\"'<>,;&|]{1,300}))"
    r"|(?<![\w.$-])(?P<sk>[A-Za-z_][\w.]{0,40})[ \t]+=[ \t]+'(?P<sv>[^'\n]{1,300})'"
    r"|(?:^|(?<=[|;]))[ \t]*(?:-[ \t]+)?(?P<ck>[^\W\d][\w .'’/-]{0,30}?)[ \t]*:[ \t]+"
    r"(?:\"(?P<cq>[^\"\n]{1,200})\"|(?P<cv>[^\n|;,]{1,200}?))[ \t]*(?=[|;,]|$)",
    re.MULTILINE,
)
_KEY_GROUPS = (
    ("jk", "jv"), ("jk", "jn"), ("pk", "pv"), ("xk", "xv"), ("ak", "av"), ("ak", "aq"), ("ak", "ab"), ("sk", "sv"),
    ("ck", "cq"),
)  # fmt: skip
_DELIMITERS = ("\t", "|", ";", ",")
# A rule line under a header: Markdown `|:---|---|`, psql `-----+-----`, MySQL `+----+----+`,
# fixed-width `-----  ------` or `=====  ======`.
_RULE = re.compile(r"[-=+|: \t]+")
# Keys of a login, not of a person: beside a password alone `user` or `name` is a service account.
_ACCOUNT_KEYS = frozenset({"PASSWORD", "GENERIC_SECRET"})
# Secret keys that hold a secret only when it is shaped like a key: `cookie: consent=yes`, `sid=main`.
_KEY_LIKE_SECRETS = ("cookie", "sid", "sessionid", "sessionkey")
_HTML_ROW = re.compile(r"<tr\b[^>]{0,200}>", re.IGNORECASE)
_HTML_ROW_END = re.compile(r"</tr\s*>", re.IGNORECASE)
_HTML_CELL = re.compile(r"<t([hd])\b[^>]{0,200}>([^<]{0,300})</t\1>", re.IGNORECASE)
_PLACES = frozenset({"STREET_ADDRESS", "POSTCODE", "RESIDENCE"})
_PAD = " \t\"'"
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
    if not any(not value.generic and value.entity not in _ACCOUNT_KEYS for value in keyed):
        keyed = [value for value in keyed if not value.generic]
    return keyed + list(_table_values(text)) + list(_sql_values(text)) + list(_html_values(text))


def _keyed_values(text: str) -> Iterator[KeyedValue]:
    if not any(mark in text for mark in (":", "=", "</")):
        return
    for match in _KEYED.finditer(text):
        key_group, value_group = _groups(match)
        kind = field_type(match[key_group])
        if kind is None:
            continue
        end = match.end(value_group)
        if value_group == "cv" and kind[0] == "STREET_ADDRESS":
            end = _address_end(text, end)
        found = _value(text, match.start(value_group), end, kind[0], match[key_group], kind[1])
        if found is not None:
            yield found


def _address_end(text: str, end: int) -> int:
    """An address in a `Key: value` line runs past its commas to the line's end, unless another
    key follows on the line (`Street: 4 Elm Row, Town: Leith`)."""
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    rest = text[end:line_end]
    return end if any(mark in rest for mark in ":|;") else len(rest.rstrip()) + end


def _groups(match: re.Match[str]) -> tuple[str, str]:
    for key_group, value_group in _KEY_GROUPS:
        if match[value_group] is not None:
            return key_group, value_group
    return "ck", "cv"


def _table_values(text: str) -> Iterator[KeyedValue]:
    """Cells under a header row that names personal data, in the rows that follow it with as many
    cells (rule lines such as `|---|---|`, `-----+-----` or `+----+----+` are skipped)."""
    lines = _lines(text)
    index = 0
    while index < len(lines):
        table = _header(lines[index][2])
        index += 1
        if table is None:
            continue
        while index < len(lines):
            start, _, line = lines[index]
            if _is_rule(line):
                index += 1
                continue
            cells = _row_cells(table, line)
            if cells is None:
                break
            index += 1
            yield from _row_values(text, start, cells, table.columns)


def _sql_values(text: str) -> Iterator[KeyedValue]:
    """Values of SQL INSERT rows under column names that name personal data."""
    for names, row in inserted_rows(text):
        columns = _columns(names)
        if columns is not None:
            yield from _row_values(text, 0, [(start, end) for _, start, end in row], columns)


def _html_values(text: str) -> Iterator[KeyedValue]:
    """Cells of HTML table rows under a row of `<th>` headers that name personal data."""
    if "<tr" not in text and "<TR" not in text:
        return
    columns: list[tuple[str, str] | None] | None = None
    position = 0
    while (opening := _HTML_ROW.search(text, position)) is not None:
        closing = _HTML_ROW_END.search(text, opening.end())
        if closing is None:
            return
        position = closing.end()
        cells = list(_HTML_CELL.finditer(text, opening.end(), closing.start()))
        if cells and all(cell[1].lower() == "h" for cell in cells):
            columns = _columns([cell[2] for cell in cells])
        elif columns is not None and len(cells) == len(columns):
            yield from _row_values(text, 0, [(cell.start(2), cell.end(2)) for cell in cells], columns)


def _row_values(
    text: str, offset: int, cells: list[tuple[int, int]], columns: list[tuple[str, str] | None]
) -> Iterator[KeyedValue]:
    for (cell_start, cell_end), column in zip(cells, columns, strict=True):
        if column is not None:
            found = _value(text, offset + cell_start, offset + cell_end, column[0], column[1], False)
            if found is not None:
                yield found


def _lines(text: str) -> list[tuple[int, int, str]]:
    out, position = [], 0
    for line in text.split("\n"):
        out.append((position, position + len(line), line))
        position += len(line) + 1
    return out


@dataclass(frozen=True)
class _Table:
    """A header: its delimiter (`FIXED_WIDTH` for columns aligned by spaces, whose cells start at
    `starts`) and what each column names."""

    delimiter: str
    columns: list[tuple[str, str] | None]
    starts: tuple[int, ...] = ()


FIXED_WIDTH = "  "
_FIXED_CHUNK = re.compile(r"\S+(?: \S+)*")


def _header(line: str) -> _Table | None:
    """The table `line` heads, when it names personal data: one sure column, or two columns of
    different kinds; delimited by tab, pipe, semicolon or comma, or else aligned by spaces."""
    for delimiter in _DELIMITERS:
        if delimiter in line:
            cells = _cells(line, delimiter)
            columns = _columns([line[a:b] for a, b in cells]) if len(cells) >= 2 else None
            if columns is not None:
                return _Table(delimiter, columns)
    if FIXED_WIDTH not in line.strip():
        return None
    chunks = list(_FIXED_CHUNK.finditer(line))
    columns = _columns([chunk[0] for chunk in chunks]) if len(chunks) >= 2 else None
    return None if columns is None else _Table(FIXED_WIDTH, columns, tuple(chunk.start() for chunk in chunks))


def _columns(names: list[str]) -> list[tuple[str, str] | None] | None:
    """What each column names, when the columns name personal data: one sure column, or two of
    different kinds. Places alone do not make a table personal: `label, address` lists sites."""
    kinds = [field_type(name) for name in names]
    sure = any(k is not None and not k[1] and k[0] not in _PLACES for k in kinds)
    distinct = {k[0] for k in kinds if k is not None}
    if sure or len(distinct) >= 2 and not distinct <= _PLACES:
        return [(k[0], n) if k is not None else None for k, n in zip(kinds, names, strict=True)]
    return None


def _is_rule(line: str) -> bool:
    return ("---" in line or "===" in line) and _RULE.fullmatch(line) is not None


def _row_cells(table: _Table, line: str) -> list[tuple[int, int]] | None:
    """Spans of a row's cells, or None when the line is no row of the table."""
    if table.delimiter == FIXED_WIDTH:
        return _fixed_cells(line, table.starts)
    cells = _cells(line, table.delimiter)
    return cells if len(cells) == len(table.columns) else None


def _fixed_cells(line: str, starts: tuple[int, ...]) -> list[tuple[int, int]] | None:
    """Cells of a row aligned under the header's columns: each column's text runs from its start to
    the next column's. A row whose text crosses a column start, or with no gap of two spaces, is
    not one (prose after the table ends it)."""
    if FIXED_WIDTH not in line.strip():
        return None
    for boundary in starts[1:]:
        if boundary < len(line) and not line[boundary - 1].isspace() and not line[boundary].isspace():
            return None
    bounds = (0, *starts[1:], max(len(line), starts[-1]))
    return [_stripped(line, min(a, len(line)), min(b, len(line))) for a, b in zip(bounds, bounds[1:], strict=False)]


def _cells(line: str, delimiter: str) -> list[tuple[int, int]]:
    """Spans of a line's cells, stripped of spaces and quotes; a cell in double quotes may hold the
    delimiter (`"Surname, Given"`, RFC 4180); the outer pipes of a Markdown row are not cells."""
    spans, start = [], 0
    while True:
        end = _cell_end(line, start, delimiter)
        spans.append(_stripped(line, start, end))
        if end >= len(line):
            break
        start = end + 1
    if delimiter == "|" and line.strip().startswith("|"):
        spans = spans[1:]
    if delimiter == "|" and line.strip().endswith("|"):
        spans = spans[:-1]
    return spans


def _cell_end(line: str, start: int, delimiter: str) -> int:
    """Where the cell from `start` ends: the next delimiter after its closing quote, if quoted."""
    opening = start
    while opening < len(line) and line[opening] == " ":
        opening += 1
    if opening < len(line) and line[opening] == '"':
        closing = line.find('"', opening + 1)
        while 0 <= closing < len(line) - 1 and line[closing + 1] == '"':
            closing = line.find('"', closing + 2)
        if closing >= 0:
            start = closing + 1
    end = line.find(delimiter, start)
    return len(line) if end < 0 else end


def _stripped(line: str, start: int, end: int) -> tuple[int, int]:
    """The span without the spaces and quotes around it."""
    while start < end and line[start] in _PAD:
        start += 1
    while end > start and line[end - 1] in _PAD:
        end -= 1
    return start, end


def _value(text: str, start: int, end: int, entity: str, key: str, generic: bool) -> KeyedValue | None:
    """The keyed value, if it could be what its key says (a date of birth has digits, a name has no
    digits, a secret is no placeholder), trimmed of quotes and a trailing comment."""
    raw = text[start:end]
    trimmed = raw.split(" #", 1)[0].rstrip().rstrip(",").strip("\"' ")
    if not trimmed:
        return None
    start += raw.index(trimmed)
    end = start + len(trimmed)
    return KeyedValue(entity, start, end, key, generic) if _plausible(entity, trimmed, key) else None


def _plausible(entity: str, value: str, key: str) -> bool:
    if value.lower() in _EMPTY or len(value) > 200 or value[0] in "{[<$%":
        return False
    digits = sum(c.isdigit() for c in value)
    if entity in _ID_TYPES:
        return digits >= 2
    if entity in ("PERSON", "RESIDENCE"):
        return digits == 0 and any(c.isalpha() for c in value) and len(value.split()) <= 5
    if entity == "PASSWORD":
        return len(value) >= 4 and " " not in value and plausible_password(value)
    if entity == "GENERIC_SECRET":
        return " " not in value and plausible_secret(value, normalise(key).endswith(_KEY_LIKE_SECRETS))
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
