"""The rows of an SQL `INSERT INTO table (columns) VALUES (...), (...)`, each value with its column.

A seed script or a dump names its columns once and then lists rows of values by position:
`(1041, 'Ana Silva', 'ana@example.org', '1984-11-02')`. Reading the rows quote-aware (`'O''Brien'`,
a comma inside a string) maps each value to its column name, so `structure.py` can treat the
statement as a table under a header. Rows whose count differs from the columns' are skipped, and a
missing comma between rows (a common syntax error in pasted scripts) does not end the statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_INSERT = re.compile(
    r"\bINSERT[ \t\r\n]+(?:IGNORE[ \t\r\n]+)?INTO[ \t\r\n]+[\w.`\"\[\]]{1,100}[ \t\r\n]*"
    r"\((?P<columns>[^()]{1,2000})\)[ \t\r\n]*VALUES[ \t\r\n]*",
    re.IGNORECASE,
)
_BLANK = " \t\r\n"
_MAX_TOKEN = 200

Row = list[tuple[str, int, int]]


def inserted_rows(text: str) -> Iterator[tuple[list[str], Row]]:
    """(column names, [(column, start, end)] of one row) for each row of each INSERT statement."""
    if "insert" not in text.lower():
        return
    for statement in _INSERT.finditer(text):
        columns = [name.strip(' \t\r\n`"[]') for name in statement["columns"].split(",")]
        for values in _rows(text, statement.end()):
            if len(values) == len(columns):
                yield columns, [(column, start, end) for column, (start, end) in zip(columns, values, strict=True)]


def _rows(text: str, position: int) -> Iterator[list[tuple[int, int]]]:
    """The value spans of each parenthesised row from `position`, until something else follows."""
    while True:
        position = _skip(text, position, _BLANK + ",")
        if position >= len(text) or text[position] != "(":
            return
        values, position = _row(text, position + 1)
        if values is None:
            return
        yield values


def _row(text: str, position: int) -> tuple[list[tuple[int, int]] | None, int]:
    """Spans of the values of one row (quoted strings without their quotes) and where it ends."""
    values: list[tuple[int, int]] = []
    while True:
        position = _skip(text, position, _BLANK)
        if position >= len(text):
            return None, position
        if text[position] in "'\"":
            closing = _closing_quote(text, position)
            if closing is None:
                return None, position
            values.append((position + 1, closing))
            position = closing + 1
        else:
            end = _token_end(text, position)
            values.append((position, len(text[position:end].rstrip(_BLANK)) + position))
            position = end
        position = _skip(text, position, _BLANK)
        if position >= len(text) or text[position] not in ",)":
            return None, position
        if text[position] == ")":
            return values, position + 1
        position += 1


def _closing_quote(text: str, opening: int) -> int | None:
    """Index of the quote closing the string opened at `opening` (doubled or escaped quotes skipped)."""
    quote, position = text[opening], opening + 1
    while position < len(text):
        character = text[position]
        if character == "\\":
            position += 2
        elif character == quote and text[position + 1 : position + 2] == quote:
            position += 2
        elif character == quote:
            return position
        elif character == "\n" and position - opening > _MAX_TOKEN:
            return None
        else:
            position += 1
    return None


def _token_end(text: str, position: int) -> int:
    """End of an unquoted value (a number, NULL, `NOW()`): the next `,` or `)` outside parentheses."""
    depth, limit = 0, min(len(text), position + _MAX_TOKEN)
    while position < limit:
        character = text[position]
        if character == "(":
            depth += 1
        elif character == ")" and depth == 0 or character == "," and depth == 0 or character == "\n":
            return position
        elif character == ")":
            depth -= 1
        position += 1
    return position


def _skip(text: str, position: int, characters: str) -> int:
    while position < len(text) and text[position] in characters:
        position += 1
    return position
