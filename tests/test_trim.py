"""Spans trimmed to the value, so the sentence around a replaced value stays readable."""

from __future__ import annotations

import pytest

from proxy.detection.trim import trim
from proxy.exchange import Finding, Slot


def _trimmed(text: str, value: str, entity: str) -> str:
    start = text.index(value)
    found = trim([Slot(("m",), text)], [Finding(0, start, start + len(value), entity, 0.9)])
    return "".join(text[f.start : f.end] for f in found)


@pytest.mark.parametrize(
    ("text", "span", "entity", "value"),
    [
        ("Email Peter Parker at p@x.org", "Email Peter Parker", "PERSON", "Peter Parker"),
        ("please ask Ann Lee, today", "ask Ann Lee,", "PERSON", "Ann Lee"),
        ("Dear Maria Rossi: thanks", "Dear Maria Rossi:", "PERSON", "Maria Rossi"),
        ("living at 14 Abbey Road. Call me", "14 Abbey Road.", "STREET_ADDRESS", "14 Abbey Road"),
        ("Ask Ann Smith's manager", "Ann Smith's", "PERSON", "Ann Smith"),
        ('Tell "Peter Parker", please', '"Peter Parker",', "PERSON", "Peter Parker"),
        ("**Peter Parker** wrote", "**Peter Parker**", "PERSON", "Peter Parker"),
        ("by John Smith (Jr) now", "John Smith (Jr)", "PERSON", "John Smith (Jr)"),
        ("met (Ann Lee) there", "(Ann Lee)", "PERSON", "Ann Lee"),
        ("Email is not a name: Email", "Email", "PERSON", "Email"),
    ],
)
def test_when_a_span_carries_words_or_marks_around_the_value_then_it_is_trimmed_to_the_value(
    text: str, span: str, entity: str, value: str
) -> None:
    assert _trimmed(text, span, entity) == value


@pytest.mark.parametrize(
    ("text", "span", "entity"),
    [("password hunter2!.", "hunter2!.", "PASSWORD"), ("key sk-abc_def.", "sk-abc_def.", "API_KEY")],
)
def test_when_a_value_is_a_code_then_it_is_left_whole(text: str, span: str, entity: str) -> None:
    assert _trimmed(text, span, entity) == span


def test_when_nothing_but_marks_remain_then_the_finding_is_dropped() -> None:
    assert trim([Slot(("m",), "a ... b")], [Finding(0, 2, 5, "PERSON", 0.9)]) == []
