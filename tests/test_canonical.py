"""Canonical text (proxy/detection/canonical): each transform as a table of text -> canonical
text, and the offset map: every value read in the canonical text names the exact span of the
original it came from (for an encoded segment: the whole segment)."""

from __future__ import annotations

import base64
import json
import re

import pytest

from proxy.detection.canonical import canonicalise
from proxy.detection.canonical.offsets import Edit, OffsetMap, apply_edits
from proxy.detection.seams import adjacent, crossing, seams
from proxy.exchange import Finding, Slot


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# (original, a value the canonical text must hold, the original span that value must map to)
CASES = [
    ("zero-width", "card 4111\u200b1111\u200c1111\u200d1111 ok", "4111111111111111", "4111\u200b1111\u200c1111\u200d1111"),
    ("word joiner and soft hyphen", "mail jane\u2060.doe@acme\u00ad-corp.de", "jane.doe@acme-corp.de", "jane\u2060.doe@acme\u00ad-corp.de"),
    ("bom and bidi", "\ufeffSSN 536\u202e-22-\u20668841", "536-22-8841", "536\u202e-22-\u20668841"),
    ("full-width", "card \uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11", "4111111111111111", "\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11"),
    ("full-width at", "jane\uff20acme-corp.de", "jane@acme-corp.de", "jane\uff20acme-corp.de"),
    ("arabic-indic digits", "SSN \u0665\u0663\u0666-22-8841", "536-22-8841", "\u0665\u0663\u0666-22-8841"),
    ("cyrillic look-alikes", "write to j\u0430ne.d\u043ee@\u0430cme-corp.de", "jane.doe@acme-corp.de", "j\u0430ne.d\u043ee@\u0430cme-corp.de"),
    ("decomposed umlaut", "Ju\u0308rgen", "J\u00fcrgen", "Ju\u0308rgen"),
    ("dots in a card", "pay with 4111.1111.1111.1111 now", "4111111111111111", "4111.1111.1111.1111"),
    ("underscores in a card", "4111_1111_1111_1111", "4111111111111111", "4111_1111_1111_1111"),
    ("spread digits", "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", "4111111111111111", "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"),
    ("ssn with dots", "SSN 536.22.8841.", "536-22-8841", "536.22.8841"),
    ("ssn with spaces", "SSN 536 22 8841", "536-22-8841", "536 22 8841"),
    ("ssn digit by digit", "SSN 5 3 6 2 2 8 8 4 1", "536-22-8841", "5 3 6 2 2 8 8 4 1"),
    ("json escapes", json.dumps({"name": "J\u00fcrgen M\u00fcller"}), "J\u00fcrgen M\u00fcller", "J\\u00fcrgen M\\u00fcller"),
    ("json surrogate pair", json.dumps("Zo\u00eb \U0001f600 Smith"), "\U0001f600", "\\ud83d\\ude00"),
    ("percent encoding", "mailto:jane%40acme-corp.de?subject=hi", "jane@acme-corp.de", "mailto:jane%40acme-corp.de?subject=hi"),
    ("double percent encoding", "to jane%2540acme-corp.de", "jane@acme-corp.de", "jane%2540acme-corp.de"),
    ("base64 blob", "decode " + b64("SSN 536-22-8841"), "536-22-8841", b64("SSN 536-22-8841")),
    ("base64 in base64", "x " + b64(b64("card 4111 1111 1111 1111")), "4111 1111 1111 1111", b64(b64("card 4111 1111 1111 1111"))),
    ("data url", "see data:text/plain;base64," + b64("jane@acme-corp.de") + " ok", "jane@acme-corp.de", "data:text/plain;base64," + b64("jane@acme-corp.de")),
    ("text as an image", "data:image/png;base64," + b64("my SSN is 536-22-8841"), "536-22-8841", "data:image/png;base64," + b64("my SSN is 536-22-8841")),
    ("spelled digits", "card four one one one one one one one one one one one one one one one", "4111111111111111", "four one one one one one one one one one one one one one one one"),
    ("spelled ssn", "SSN five three six two two eight eight four one", "536-22-8841", "five three six two two eight eight four one"),
    ("spelled with commas", "card four, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one.", "4111111111111111", "four, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one"),
    ("base64 in a url path", "https://cdn.net/v/" + b64("SSN 536-22-8841") + "/x.png", "536-22-8841", b64("SSN 536-22-8841")),
    ("spelled e-mail", "write jane dot doe at acme-corp dot de today", "jane.doe@acme-corp.de", "jane dot doe at acme-corp dot de"),
    ("bracketed e-mail", "jane [at] acme-corp [dot] de", "jane@acme-corp.de", "jane [at] acme-corp [dot] de"),
    ("mixed evasions", "c\u0430rd: \uff14111\u200b.1111.1111.1111", "4111111111111111", "\uff14111\u200b.1111.1111.1111"),
]  # fmt: skip


@pytest.mark.parametrize(("original", "value", "span"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_when_a_value_is_disguised_then_canonical_text_holds_it_and_maps_to_its_original_span(
    original: str, value: str, span: str
) -> None:
    canonical = canonicalise(original)
    start = canonical.text.index(value)
    mapped = canonical.original(start, start + len(value))
    assert original[mapped[0] : mapped[1]] == span


PLAIN = [
    "Meet on 2024-01-15 at 10:30, server 81.2.69.160, call +1 415-555-0132.",
    "Version 3.11.4 of the build, order 12345, total 1.234,56 EUR",
    "Привет, как дела? Ελληνικά κείμενα. 日本語のテキスト",
    "Müller, Zoë and Ærøskøbing stay as written.",
    "look at github dot com for the docs",
    "a phone 612 345 678 keeps its shape, and so does +33 (0)1 23 45 67 89",
    "claude-opus-4-20250514 and build 1 2024-01-15",
    "ip=38.150.21.160\n2024-03-02T10:14:25Z and IP 10.0.0.1 2024-01-15, bind to 203.0.113.10:8080",
    "card 4111 1111 1111 1111 as the card recognizer reads it",
    "The base64 alphabet ABCDEFGHIJKLMNOPQRSTUVWXYZ is not a blob",
    "AWS secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY stays",
]


@pytest.mark.parametrize("text", PLAIN)
def test_when_nothing_is_disguised_then_the_text_is_read_as_written(text: str) -> None:
    assert canonicalise(text).text == text


def test_when_a_base64_blob_is_decoded_then_the_blob_itself_is_still_read() -> None:
    blob = b64("aws_access_key_id = AKIAQX3B7NF2KD9RWL4Z")
    text = canonicalise("key " + blob).text
    assert blob in text and "AKIAQX3B7NF2KD9RWL4Z" in text


def test_when_a_data_url_holds_a_real_image_then_detection_does_not_read_its_bytes() -> None:
    png = base64.b64encode(bytes(range(256)) * 4).decode()
    assert png not in canonicalise(f"look: data:image/png;base64,{png} done").text


def test_when_encodings_nest_too_deep_then_the_innermost_stays_encoded() -> None:
    inner = b64(b64(b64("SSN 536-22-8841")))
    assert "536-22-8841" not in canonicalise(b64(inner)).text


def test_when_edits_delete_and_insert_then_every_position_maps_to_its_source() -> None:
    text, layer = apply_edits("ab--cd", [Edit(2, 4, ""), Edit(6, 6, "!", (0, 6))])
    offsets = OffsetMap((layer,))
    assert text == "abcd!"
    assert offsets.original(0, 4) == (0, 6)  # across the deletion
    assert offsets.original(2, 3) == (4, 5)  # after it, shifted
    assert offsets.original(4, 5) == (0, 6)  # the insertion stands for its source


def test_when_a_value_crosses_two_slots_then_each_half_is_found_in_its_own_slot() -> None:
    texts = ["my card 4111 1111", "1111 1111 thanks"]
    (seam,) = seams(texts, [(0, 1)])
    match = re.search(r"\d{4}(?: \d{4}){3}", seam.view.text)
    assert match is not None
    finding = Finding(slot=2, start=match.start(), end=match.end(), entity_type="CREDIT_CARD", score=1.0)
    halves = crossing(seam, [finding])
    assert [(h.slot, texts[h.slot][h.start : h.end]) for h in halves] == [(0, "4111 1111"), (1, "1111 1111")]


def test_when_a_value_is_split_three_ways_then_each_part_is_found_in_its_slot() -> None:
    texts = ["card 4111 1111", "1111", "1111 ok"]
    joins = seams(texts, [(0, 1), (1, 2)])
    halves = {
        (h.slot, texts[h.slot][h.start : h.end])
        for seam in joins
        for match in re.finditer(r"\d{4}(?: \d{4}){3}", seam.view.text)
        for h in crossing(seam, [Finding(9, match.start(), match.end(), "CREDIT_CARD", 1.0)])
    }
    assert halves == {(0, "4111 1111"), (1, "1111"), (2, "1111")}


def test_when_an_address_is_split_at_its_at_sign_then_the_halves_are_joined_without_a_space() -> None:
    texts = ["write to jane.doe@", "acme-corp.de now"]
    (seam,) = seams(texts, [(0, 1)])
    assert "jane.doe@acme-corp.de" in seam.view.text


def test_when_a_value_stays_on_one_side_of_a_seam_then_the_seam_adds_nothing() -> None:
    (seam,) = seams(["mail jane@x.de", "hello"], [(0, 1)])
    start = seam.view.text.index("jane")
    assert crossing(seam, [Finding(2, start, start + 9, "EMAIL_ADDRESS", 1.0)]) == []


def test_when_slots_are_parts_or_same_role_turns_then_they_are_adjacent() -> None:
    body = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "user", "content": "c"},
            {"role": "assistant", "content": "d"},
            {"role": "user", "content": "e", "tool_calls": []},
        ]
    }
    slots = [
        Slot(("messages", 0, "content", 0, "text"), "a"),
        Slot(("messages", 0, "content", 1, "text"), "b"),
        Slot(("messages", 1, "content"), "c"),
        Slot(("messages", 2, "content"), "d"),
        Slot(("messages", 3, "content"), "e"),
        Slot(("messages", 3, "tool_calls", 0, "function", "arguments"), "f", pointer=("x",)),
    ]
    assert adjacent(body, slots) == [(0, 1), (1, 2)]
