"""Placeholders restored however the model writes them, split anywhere, and only when issued."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.placeholders import Forms, count_unrestored, reserved
from proxy.response.process import Piece
from proxy.response.restore import Restore, restore_text

ORIGINALS = {"<PERSON_1>": "Ada Lovelace", "<EMAIL_ADDRESS_1>": "ada@math.org", "<PERSON_12>": 'Bo "B" Li'}


@pytest.mark.parametrize(
    ("written", "restored"),
    [
        ("<PERSON_1>", "Ada Lovelace"),
        ("<person_1>", "Ada Lovelace"),
        ("PERSON_1", "Ada Lovelace"),
        ("[PERSON_1]", "Ada Lovelace"),
        ("< PERSON_1 >", "Ada Lovelace"),
        ("&lt;PERSON_1&gt;", "Ada Lovelace"),
        ("\\u003cPERSON_1\\u003e", "Ada Lovelace"),
        ("\\<PERSON\\_1\\>", "Ada Lovelace"),
        ("<PERSON_1>'s", "Ada Lovelace's"),
        ("PERSON_1’s", "Ada Lovelace’s"),
        ("**<PERSON_1>**", "**Ada Lovelace**"),
        ("[<PERSON_1>](mailto:<EMAIL_ADDRESS_1>)", "[Ada Lovelace](mailto:ada@math.org)"),
        ("`PERSON_12`", '`Bo "B" Li`'),
        ("&lt;PERSON_12&gt;", "Bo &quot;B&quot; Li".replace("&quot;", '"')),
        ("\\u003cPERSON_12\\u003e", 'Bo \\"B\\" Li'),
    ],
)
def test_when_the_model_rewrites_an_issued_token_then_it_is_restored(written: str, restored: str) -> None:
    assert restore_text(f"Hi {written}.", ORIGINALS) == f"Hi {restored}."


@pytest.mark.parametrize(
    "written",
    ["<PERSON_2>", "PERSON_7", "<PERSON>", "SUPERPERSON_1", "PERSON_1X", "<PHONE_NUMBER_1>", "person_10", "<PERSON_1"],
)
def test_when_a_token_was_not_issued_by_this_request_then_it_is_left_alone(written: str) -> None:
    assert restore_text(f"Hi {written} there", ORIGINALS) == f"Hi {written} there"


def test_numbers_already_in_the_clients_text_are_reserved_in_every_form() -> None:
    texts = ["Dear <PERSON_1>, see [person_3] and EMAIL_ADDRESS_2", "utf_8 and plain words"]
    assert reserved(texts) == {"PERSON": 3, "EMAIL_ADDRESS": 2, "UTF": 8}


def test_unrestored_tokens_of_the_issued_shape_are_counted() -> None:
    text = restore_text("<PERSON_1> wrote to <PERSON_9> and <EMAIL_ADDRESS_1>.", ORIGINALS)
    assert text == "Ada Lovelace wrote to <PERSON_9> and ada@math.org."
    assert count_unrestored(text) == 1


ANSWER = (
    "Dear <PERSON_1>, mail &lt;EMAIL_ADDRESS_1&gt; or [person_12]; PERSON_1's <unrelated> a<b x <PERSON_7> "
    "< PERSON_12 > and **PERSON_1**"
)
RESTORED = (
    'Dear Ada Lovelace, mail ada@math.org or Bo "B" Li; Ada Lovelace\'s <unrelated> a<b x <PERSON_7> '
    'Bo "B" Li and **Ada Lovelace**'
)


def _streamed(chunks: list[str], escaped: bool = False) -> str:
    restore = Restore(ORIGINALS)
    out, held = [], ""
    for chunk in chunks:
        held += chunk
        cut = restore.ready(held, Piece(held))
        out.append(asyncio.run(restore.apply([Piece(held[:cut], escaped=escaped)]))[0])
        held = held[cut:]
    return "".join(out) + asyncio.run(restore.apply([Piece(held, escaped=escaped)]))[0]


@given(st.lists(st.integers(min_value=0, max_value=len(ANSWER)), max_size=12))
def test_rewritten_tokens_split_across_stream_chunks_are_restored(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(ANSWER)]
    assert _streamed([ANSWER[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]) == RESTORED


@pytest.mark.parametrize("cut", range(len(ANSWER) + 1))
def test_every_single_split_position_restores_exactly(cut: int) -> None:
    assert _streamed([ANSWER[:cut], ANSWER[cut:]]) == RESTORED


def test_text_that_cannot_start_a_placeholder_is_never_held_back() -> None:
    forms = Forms(ORIGINALS)
    assert forms.hold_from("a < b and <x ") == len("a < b and <x ")
    assert forms.hold_from("Hello <PER") == len("Hello ")  # could still become <PERSON_1>
    assert forms.hold_from("Hello <PERSONA") == len("Hello <PERSONA")  # now it cannot
    assert forms.hold_from("Hello PERSON_1") == len("Hello ")  # could be PERSON_12
    assert forms.hold_from("a PERSON_1 b") == len("a PERSON_1 b")


def test_restored_values_in_json_strings_are_escaped() -> None:
    arguments = _streamed(['{"to": "<PERSON_1', '2>", "cc": "\\u003cperson_1\\u003e"}'], escaped=True)
    assert json.loads(arguments) == {"to": 'Bo "B" Li', "cc": "Ada Lovelace"}
