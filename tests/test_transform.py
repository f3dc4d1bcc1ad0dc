"""Actions on detected values and pseudonym numbering (restoring them: test_placeholders.py)."""

from __future__ import annotations

import pytest

from proxy.exchange import Finding, Resolution, Slot
from proxy.hashing import Hasher
from proxy.transform import mask, transform

HASHER = Hasher(b"test-key")


def _resolution(slot: int, text: str, value: str, entity: str, action: str, occurrence: int = 0) -> Resolution:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(value, start + 1)
    return Resolution(Finding(slot, start, start + len(value), entity, 0.9), action, "rule", "policy")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "keep_last", "expected"),
    [
        ("4111-1111-1111-1234", 4, "****-****-****-1234"),
        ("GB82 WEST 1234", 6, "**** **ST 1234"),
        ("abc", 4, "***"),
        ("secret", 0, "******"),
    ],
)
def test_when_masking_then_only_last_characters_stay_and_separators_remain(
    value: str, keep_last: int, expected: str
) -> None:
    assert mask(value, keep_last) == expected


def test_each_action_rewrites_its_span_and_leaves_the_rest() -> None:
    text = "Ann at ann@x.org, SSN 078-05-1120, IP 10.0.0.1, IBAN DE89370400440532013000, ok"
    slots = [Slot(("m",), text)]
    resolutions = [
        _resolution(0, text, "Ann", "PERSON", "pseudonymize"),
        _resolution(0, text, "ann@x.org", "EMAIL_ADDRESS", "allow"),
        _resolution(0, text, "078-05-1120", "US_SSN", "redact"),
        _resolution(0, text, "10.0.0.1", "IP_ADDRESS", "hash"),
        _resolution(0, text, "DE89370400440532013000", "IBAN_CODE", "mask"),
    ]
    texts, pseudonyms = transform(slots, resolutions, HASHER)
    assert texts[0] == (
        f"<PERSON_1> at ann@x.org, SSN <US_SSN>, IP <IP_ADDRESS#{HASHER.short('10.0.0.1')}>, "
        "IBAN ******************3000, ok"
    )
    assert pseudonyms.originals == {"<PERSON_1>": "Ann"}


def test_pseudonyms_are_numbered_per_type_by_first_appearance_across_slots() -> None:
    slots = [Slot(("a",), "Bob and Eve"), Slot(("b",), "eve and Carl and BOB")]
    resolutions = [
        _resolution(0, "Bob and Eve", "Bob", "PERSON", "pseudonymize"),
        _resolution(0, "Bob and Eve", "Eve", "PERSON", "pseudonymize"),
        _resolution(1, "eve and Carl and BOB", "eve", "PERSON", "pseudonymize"),
        _resolution(1, "eve and Carl and BOB", "Carl", "PERSON", "pseudonymize"),
        _resolution(1, "eve and Carl and BOB", "BOB", "PERSON", "pseudonymize"),
    ]
    texts, pseudonyms = transform(slots, resolutions, HASHER)
    assert texts == {0: "<PERSON_1> and <PERSON_2>", 1: "<PERSON_2> and <PERSON_3> and <PERSON_1>"}
    assert pseudonyms.originals == {"<PERSON_1>": "Bob", "<PERSON_2>": "Eve", "<PERSON_3>": "Carl"}


def test_hash_is_keyed_and_stable() -> None:
    assert Hasher(b"k1").short("a@b.c") == Hasher(b"k1").short(" A@B.C ")
    assert Hasher(b"k1").short("a@b.c") != Hasher(b"k2").short("a@b.c")


def test_numbering_starts_past_placeholders_the_client_wrote_in_any_form() -> None:
    text = "The template reads 'Dear <PERSON_1>' and [person_4]; fill it for Jurgen Muller."
    slots = [Slot(("m",), text)]
    texts, pseudonyms = transform(slots, [_resolution(0, text, "Jurgen Muller", "PERSON", "pseudonymize")], HASHER)
    assert texts[0] == "The template reads 'Dear <PERSON_1>' and [person_4]; fill it for <PERSON_5>."
    assert pseudonyms.originals == {"<PERSON_5>": "Jurgen Muller"}
