"""Placeholders restored however the model writes them, split anywhere, and only when issued."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.dialects.openai_chat import OpenAIChat
from proxy.dialects.sse import SSEEvent
from proxy.placeholders import Forms, count_unrestored, reserved
from proxy.response.process import StreamProcessor
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
    [
        "<PERSON_2>",
        "PERSON_7",
        "<PERSON>",
        "SUPERPERSON_1",
        "PERSON_1X",
        "<PHONE_NUMBER_1>",
        "person_10",
        "<PERSON_1",
        "person_1",
    ],
)
def test_when_a_token_was_not_issued_by_this_request_then_it_is_left_alone(written: str) -> None:
    assert restore_text(f"Hi {written} there", ORIGINALS) == f"Hi {written} there"


def test_numbers_already_in_the_clients_text_are_reserved_in_every_form() -> None:
    texts = ["Dear <PERSON_1>, see [person_3] and EMAIL_ADDRESS_2", "utf_8 and plain words"]
    assert reserved(texts) == {"PERSON": 3, "EMAIL_ADDRESS": 2}


def test_unrestored_tokens_of_the_issued_shape_are_counted() -> None:
    text = restore_text("<PERSON_1> wrote to <PERSON_9> and <EMAIL_ADDRESS_1>.", ORIGINALS)
    assert text == "Ada Lovelace wrote to <PERSON_9> and ada@math.org."
    assert count_unrestored(text) == 1


ANSWER = (
    "Dear <PERSON_1>, mail &lt;EMAIL_ADDRESS_1&gt; or [person_12]; PERSON_1's <unrelated> a<b x <PERSON_7> "
    "< PERSON_12 > and **PERSON_1** but not XPERSON_1 or PERSON_1X"
)
RESTORED = (
    'Dear Ada Lovelace, mail ada@math.org or Bo "B" Li; Ada Lovelace\'s <unrelated> a<b x <PERSON_7> '
    'Bo "B" Li and **Ada Lovelace** but not XPERSON_1 or PERSON_1X'
)


def _streamed(chunks: list[str], arguments: bool = False) -> str:
    """The chunks as an OpenAI chat stream (content, or one tool call's arguments) through the
    answer's stream processor, and the text the client gets."""
    shell = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}

    def delta(chunk: str) -> dict[str, Any]:
        return {"tool_calls": [{"index": 0, "function": {"arguments": chunk}}]} if arguments else {"content": chunk}

    events = [{**shell, "choices": [{"index": 0, "delta": delta(chunk), "finish_reason": None}]} for chunk in chunks]
    events.append({**shell, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    processor = StreamProcessor(OpenAIChat(), [Restore(ORIGINALS)])

    async def run() -> list[SSEEvent]:
        out = [sse for event in events for sse in await processor.event(SSEEvent(json.dumps(event)))]
        return out + await processor.event(SSEEvent("[DONE]"))

    sent = [json.loads(sse.data)["choices"][0]["delta"] for sse in asyncio.run(run()) if sse.data != "[DONE]"]
    if arguments:
        return "".join(d["tool_calls"][0]["function"]["arguments"] for d in sent if d.get("tool_calls"))
    return "".join(d.get("content") or "" for d in sent)


@given(st.lists(st.integers(min_value=0, max_value=len(ANSWER)), max_size=12))
def test_rewritten_tokens_split_across_stream_chunks_are_restored(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(ANSWER)]
    assert _streamed([ANSWER[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]) == RESTORED


@pytest.mark.parametrize("cut", range(len(ANSWER) + 1))
def test_every_single_split_position_restores_exactly(cut: int) -> None:
    assert _streamed([ANSWER[:cut], ANSWER[cut:]]) == RESTORED


def test_text_that_cannot_start_a_placeholder_is_never_held_back() -> None:
    forms = Forms(ORIGINALS)
    assert not forms.may_begin("please pass the pepper per") and forms.may_begin("ask PER")
    assert forms.hold_from("a < b and <x ") == len("a < b and <x ")
    assert forms.hold_from("Hello <PER") == len("Hello ")  # could still become <PERSON_1>
    assert forms.hold_from("Hello <PERSONA") == len("Hello <PERSONA")  # now it cannot
    assert forms.hold_from("Hello PERSON_1") == len("Hello ")  # could be PERSON_12
    assert forms.hold_from("a PERSON_1 b") == len("a PERSON_1 b")


def test_restored_values_in_json_strings_are_escaped() -> None:
    arguments = _streamed(['{"to": "<PERSON_1', '2>", "cc": "\\u003cperson_1\\u003e"}'], arguments=True)
    assert json.loads(arguments) == {"to": 'Bo "B" Li', "cc": "Ada Lovelace"}


def test_forms_beyond_the_remembered_ones_are_still_resolved() -> None:
    made_up = " ".join(f"<PERSON_{n}>" for n in range(100, 400))  # more written forms than are remembered
    forms = Forms(ORIGINALS)
    assert forms.restore(f"{made_up} <PERSON_1>") == f"{made_up} Ada Lovelace"
    assert forms.restore(f"[person_12] {made_up}") == f'Bo "B" Li {made_up}'


@pytest.mark.parametrize(
    "odd", [{"created": 2**70}, {"system_fingerprint": "fp_\ud800"}], ids=["wide-int", "surrogate"]
)
def test_a_re_encoded_event_keeps_what_the_fast_codec_refuses(odd: dict[str, Any]) -> None:
    """Events are read and changed ones written with orjson; one holding a value orjson refuses
    (an integer wider than 64 bits, a lone surrogate) is read and goes out exactly all the same."""
    choice = {"index": 0, "delta": {"content": "Hi <PERSON_1>, ü"}, "finish_reason": None}
    event = {"id": "chatcmpl-1", **odd, "choices": [choice]}
    [sent] = asyncio.run(StreamProcessor(OpenAIChat(), [Restore(ORIGINALS)]).event(SSEEvent(json.dumps(event))))
    restored = {**choice, "delta": {"content": "Hi Ada Lovelace, ü"}}
    assert json.loads(sent.data) == {**event, "choices": [restored]}
