"""Actions on detected values, pseudonym numbering, and restoration (whole and streamed)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.exchange import Finding, Resolution, Slot
from proxy.hashing import Hasher
from proxy.transform import Restorer, count_placeholders, json_escape, mask, restore_text, transform

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


def test_restore_replaces_known_placeholders_and_counts_unknown_ones() -> None:
    text = restore_text("<PERSON_1> wrote to <PERSON_9> and <EMAIL_ADDRESS_1>.", ORIGINALS)
    assert text == "Ada Lovelace wrote to <PERSON_9> and ada@math.org."
    assert count_placeholders(text) == 1


ORIGINALS = {"<PERSON_1>": "Ada Lovelace", "<EMAIL_ADDRESS_1>": "ada@math.org", "<PERSON_12>": 'Bo "B" Li'}
ANSWER = "Dear <PERSON_1>, mail <EMAIL_ADDRESS_1> or <PERSON_12>; <PERSON_1> <unrelated> a<b x <PERSON_7> <PERSON_1"
RESTORED = 'Dear Ada Lovelace, mail ada@math.org or Bo "B" Li; Ada Lovelace <unrelated> a<b x <PERSON_7> <PERSON_1'


@given(st.lists(st.integers(min_value=0, max_value=len(ANSWER)), max_size=12))
def test_pseudonym_split_across_stream_chunks_is_restored(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(ANSWER)]
    chunks = [ANSWER[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    restorer = Restorer(ORIGINALS)
    out = [restorer.feed(chunk) for chunk in chunks] + [restorer.flush()]
    assert "".join(out) == RESTORED  # <PERSON_7> is unknown; the unfinished "<PERSON_1" is flushed as it was


@pytest.mark.parametrize("cut", range(len(ANSWER) + 1))
def test_every_single_split_position_restores_exactly(cut: int) -> None:
    restorer = Restorer(ORIGINALS)
    assert restorer.feed(ANSWER[:cut]) + restorer.feed(ANSWER[cut:]) + restorer.flush() == RESTORED


def test_text_that_cannot_start_a_placeholder_is_never_held_back() -> None:
    restorer = Restorer(ORIGINALS)
    assert restorer.feed("a < b and <x") == "a < b and <x"
    assert restorer.feed("Hello <PER") == "Hello "  # could still become <PERSON_1>
    assert restorer.feed("SONA") == "<PERSONA"  # now it cannot
    assert restorer.feed(" <PERSON_1") == " "  # could be <PERSON_1> or <PERSON_12>
    assert restorer.feed("2>") == 'Bo "B" Li'


def test_restored_values_in_json_strings_are_escaped() -> None:
    restorer = Restorer(ORIGINALS, json_escape)
    arguments = restorer.feed('{"to": "<PERSON_1') + restorer.feed('2>"}') + restorer.flush()
    assert json.loads(arguments) == {"to": 'Bo "B" Li'}
