"""Shortcuts taken for speed must not change what is found."""

from __future__ import annotations

import json

from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from proxy.detection.builtin import MORE_PHONE_REGIONS, GatedPhoneRecognizer

from .conftest import REPO

EXTRA = [
    "Call +1 (415) 555-0132 ext. 12 or 020 7946 0958; fax 030/12345678.",
    "Numbers 0612345678, 06-12345678 and +31 6 12345678 in one line, then 1234567 and 12-34-56.",
    "Order 4481-2201-9934 shipped; tracking 1Z999AA10123456784; ISBN 978-3-16-148410-0.",
    "No digits at all here, only words about telephones and calling.",
]


def _texts() -> list[str]:
    path = REPO / "proxy" / "evaluation" / "data" / "eval_set.jsonl"
    texts = [
        message["content"]
        for line in path.read_text().splitlines()
        for message in json.loads(line)["body"]["messages"]
        if isinstance(message.get("content"), str)
    ]
    return texts + EXTRA


def _spans(recognizer: PhoneRecognizer, text: str) -> set[tuple[int, int, float]]:
    """What survives the noise filter, which drops "phone numbers" of fewer than seven digits."""
    found = recognizer.analyze(text, ["PHONE_NUMBER"], None)
    return {(r.start, r.end, r.score) for r in found if sum(c.isdigit() for c in text[r.start : r.end]) >= 7}


def test_the_gated_phone_recognizer_finds_exactly_what_presidios_finds() -> None:
    texts = _texts()
    assert len(texts) > 800
    for regions in (PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS, MORE_PHONE_REGIONS):
        plain = PhoneRecognizer(supported_regions=regions)
        gated = GatedPhoneRecognizer(supported_regions=regions)
        found = 0
        for text in texts:
            expected = _spans(plain, text)
            assert _spans(gated, text) == expected, text
            found += len(expected)
        assert found > 100  # the corpus does hold phone numbers
