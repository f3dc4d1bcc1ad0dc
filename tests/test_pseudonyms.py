"""Pseudonyms on every surface, plain and streamed: never confused with the client's own text,
restored however the model writes them, and only when this request issued them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .conftest import RunningProxy
from .mock_vendor import MockVendor

SURFACES = ["chat", "responses", "completions", "anthropic"]
CASES = [(surface, stream) for surface in SURFACES for stream in (False, True)]
IDS = [f"{surface}-{'stream' if stream else 'plain'}" for surface, stream in CASES]


def ask(proxy: RunningProxy, surface: str, text: str, stream: bool) -> str:
    """The answer's text, as the official SDK of the surface hands it to the client."""
    client = proxy.client()
    if surface == "chat":
        if not stream:
            return (
                client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
                .choices[0]
                .message.content
                or ""
            )
        chunks = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": text}], stream=True
        )
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    if surface == "responses":
        if not stream:
            return client.responses.create(model="gpt-4o", input=text).output_text
        events = client.responses.create(model="gpt-4o", input=text, stream=True)
        return "".join(e.delta for e in events if e.type == "response.output_text.delta")
    if surface == "completions":
        if not stream:
            return client.completions.create(model="gpt-3.5-turbo-instruct", prompt=text).choices[0].text
        chunks = client.completions.create(model="gpt-3.5-turbo-instruct", prompt=text, stream=True)
        return "".join(c.choices[0].text for c in chunks if c.choices)
    messages = [{"role": "user", "content": text}]
    if not stream:
        reply = proxy.anthropic().messages.create(model="claude-proxy-test", max_tokens=200, messages=messages)  # type: ignore[arg-type]
        return "".join(block.text for block in reply.content if block.type == "text")
    events = proxy.anthropic().messages.create(
        model="claude-proxy-test", max_tokens=200, messages=messages, stream=True
    )  # type: ignore[arg-type]
    return "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")


TEMPLATE = "The template reads 'Dear <PERSON_1>'. Fill it for Peter Parker."


@pytest.mark.parametrize(("surface", "stream"), CASES, ids=IDS)
def test_when_the_client_already_wrote_a_placeholder_then_the_issued_one_differs_and_its_text_survives(
    proxy: RunningProxy, vendor: MockVendor, surface: str, stream: bool
) -> None:
    vendor.script.chunk_chars = 3
    answer = ask(proxy, surface, TEMPLATE, stream)  # the vendor echoes what it received
    sent = vendor.received[-1].raw.decode()
    assert "Peter Parker" not in sent
    assert "'Dear <PERSON_1>'. Fill it for <PERSON_2>." in sent
    assert answer == TEMPLATE


REWRITTEN = (
    "A <person_1>, B [PERSON_1], C < PERSON_1 >, D &lt;PERSON_1&gt;, E PERSON_1's desk, F **PERSON_1**, "
    "G \\<PERSON\\_1\\>; never issued: <PERSON_2>, PERSON_3, <EMAIL_ADDRESS_1>."
)
RESTORED = (
    "A Peter Parker, B Peter Parker, C Peter Parker, D Peter Parker, E Peter Parker's desk, F **Peter Parker**, "
    "G Peter Parker; never issued: <PERSON_2>, PERSON_3, <EMAIL_ADDRESS_1>."
)


@pytest.mark.parametrize(("surface", "stream"), CASES, ids=IDS)
def test_when_the_model_rewrites_a_placeholder_then_every_form_is_restored_and_no_other(
    proxy: RunningProxy, vendor: MockVendor, surface: str, stream: bool
) -> None:
    vendor.script.reply, vendor.script.chunk_chars = REWRITTEN, 2
    assert ask(proxy, surface, "Please write to Peter Parker today.", stream) == RESTORED


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_when_tool_arguments_hold_a_json_escaped_placeholder_then_the_value_is_restored_escaped(
    proxy: RunningProxy, vendor: MockVendor, stream: bool
) -> None:
    arguments = '{"to": "\\u003cPERSON_1\\u003e", "note": "for [person_1]"}'
    vendor.script.tool_calls, vendor.script.chunk_chars = [{"name": "send", "arguments": arguments}], 3
    messages = [{"role": "user", "content": 'Write to Peter "Pete" Parker today.'}]
    client = proxy.client()
    if stream:
        chunks = client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)  # type: ignore[arg-type]
        received = "".join(
            call.function.arguments or ""
            for c in chunks
            if c.choices
            for call in c.choices[0].delta.tool_calls or []
            if call.function
        )
    else:
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]
        received = reply.choices[0].message.tool_calls[0].function.arguments  # type: ignore[index, union-attr]
    original = vendor.received[-1].raw.decode()
    assert "Parker" not in original
    assert json.loads(received) == {"to": 'Peter "Pete" Parker', "note": 'for Peter "Pete" Parker'}


USER = "peter.parker@dailybugle.com"


@pytest.mark.parametrize(
    ("surface", "field"),
    [("chat", "user"), ("chat", "safety_identifier"), ("responses", "user"), ("anthropic", "metadata.user_id")],
)
def test_when_a_request_names_its_end_user_then_the_vendor_gets_the_same_keyed_pseudonym_every_time(
    proxy: RunningProxy, vendor: MockVendor, surface: str, field: str
) -> None:
    forwarded = []
    for text in ("Hello there.", "Email Mary Jane Watson at mj@example.org, and again."):
        extra: dict[str, Any] = {"metadata": {"user_id": USER}} if field == "metadata.user_id" else {field: USER}
        if surface == "chat":
            proxy.client().chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": text}], extra_body=extra
            )
        elif surface == "responses":
            proxy.client().responses.create(model="gpt-4o", input=text, extra_body=extra)
        else:
            messages = [{"role": "user", "content": text}]
            proxy.anthropic().messages.create(
                model="claude-proxy-test", max_tokens=9, messages=messages, extra_body=extra
            )  # type: ignore[arg-type]
        body = vendor.last
        forwarded.append(body["metadata"]["user_id"] if field == "metadata.user_id" else body[field])
    assert forwarded[0] == forwarded[1]
    assert re.fullmatch(r"<EMAIL_ADDRESS#[0-9a-f]+>", forwarded[0]), forwarded[0]
