"""OpenAI Responses through the official SDK: input items, instructions, tools, streams."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from .conftest import RunningProxy, StartProxy
from .mock_vendor import MockVendor

EMAIL = "peter@dailybugle.com"


def test_input_and_instructions_are_scanned_and_the_answer_restored(proxy: RunningProxy, vendor: MockVendor) -> None:
    response = proxy.client().responses.create(
        model="gpt-4o", instructions="You help Peter Parker.", input=f"Write to Peter Parker at {EMAIL}"
    )
    assert vendor.last["instructions"] == "You help <PERSON_1>."
    assert vendor.last["input"] == "Write to <PERSON_1> at <EMAIL_ADDRESS_1>"
    assert response.output_text == f"Write to Peter Parker at {EMAIL}"


def test_a_streamed_answer_is_restored_in_deltas_and_done_events(proxy: RunningProxy, vendor: MockVendor) -> None:
    vendor.script.chunk_chars = 3
    events = list(proxy.client().responses.create(model="gpt-4o", input="Call Peter Parker today.", stream=True))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "Call Peter Parker today."
    assert not any("<" in d or ">" in d for d in deltas)
    done = next(e for e in events if e.type == "response.output_text.done")
    completed = next(e for e in events if e.type == "response.completed")
    assert done.text == "Call Peter Parker today." and completed.response.output_text == "Call Peter Parker today."


@pytest.mark.parametrize("stream", [False, True])
def test_function_call_round_trip(proxy: RunningProxy, vendor: MockVendor, stream: bool) -> None:
    items: list[Any] = [
        {"role": "user", "content": "Who is the customer?"},
        {"type": "function_call", "call_id": "c1", "name": "crm", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": f"Peter Parker, {EMAIL}"},
    ]
    vendor.script.tool_calls = [{"name": "mail", "arguments": json.dumps({"to": "<EMAIL_ADDRESS_1>"})}]
    vendor.script.chunk_chars = 4
    tools: list[Any] = [
        {"type": "function", "name": "mail", "description": "Mails someone", "parameters": {"type": "object"}}
    ]
    client = proxy.client()
    if stream:
        events = list(client.responses.create(model="gpt-4o", input=items, tools=tools, stream=True))
        arguments = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
        final = next(e for e in events if e.type == "response.completed").response
        assert json.loads(arguments) == {"to": EMAIL}
    else:
        final = client.responses.create(model="gpt-4o", input=items, tools=tools)
    assert vendor.last["input"][2]["output"] == "<PERSON_1>, <EMAIL_ADDRESS_1>"
    assert json.loads(final.output[0].arguments) == {"to": EMAIL}  # type: ignore[union-attr]


def test_vendor_held_history_follows_the_unscannable_parts_setting(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Any
) -> None:
    policies = tmp_path / "p"
    policies.mkdir()
    (policies / "p.yaml").write_text("id: p\nsettings: {unscannable_parts: block}\nrules: []\n")
    with start_proxy(policies=str(policies)) as running:
        with pytest.raises(openai.BadRequestError) as caught:
            running.client().responses.create(model="gpt-4o", input="and then?", previous_response_id="resp_123")
    assert "cannot be scanned" in caught.value.message and vendor.received == []
