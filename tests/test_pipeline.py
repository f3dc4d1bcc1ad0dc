"""End to end: the official OpenAI SDK → proxy → mock vendor, over loopback HTTP."""

from __future__ import annotations

import json

from proxy.hashing import Hasher

from .conftest import HASH_KEY, PROXY_KEY, VENDOR_KEY, RunningProxy
from .mock_vendor import MockVendor

PROMPT = "Please write to John Smith at john.smith@acme.com about badge EMP-004211."
VALUES = ["John Smith", "john.smith@acme.com", "EMP-004211"]


def _assert_vendor_saw_no_values(vendor: MockVendor) -> None:
    raw = vendor.received[-1].raw.decode()
    for value in VALUES:
        assert value not in raw


def test_chat_pii_is_pseudonymized_for_vendor_and_restored_for_client(proxy: RunningProxy, vendor: MockVendor) -> None:
    raw = proxy.client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}]
    )
    completion = raw.parse()
    badge = f"<EMPLOYEE_ID#{Hasher(HASH_KEY.encode()).short('EMP-004211')}>"
    assert (
        vendor.last["messages"][0]["content"] == f"Please write to <PERSON_1> at <EMAIL_ADDRESS_1> about badge {badge}."
    )
    _assert_vendor_saw_no_values(vendor)
    # the mock echoes what it saw: pseudonyms come back as the originals, hashes stay hashed
    assert completion.choices[0].message.content == PROMPT.replace("EMP-004211", badge)
    assert raw.headers["x-proxy-decision"] == "transform"
    assert raw.headers["x-proxy-policy"] == "default@4,secrets-baseline@1"
    assert raw.headers["x-proxy-request-id"].startswith("req_")


def test_chat_stream_is_restored_chunk_by_chunk(proxy: RunningProxy, vendor: MockVendor) -> None:
    vendor.script.chunk_chars = 3  # placeholders arrive split over several chunks
    stream = proxy.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Call John Smith today."}], stream=True
    )
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert "".join(pieces) == "Call John Smith today."
    assert not any("<" in piece or ">" in piece for piece in pieces), "a placeholder fragment leaked"
    assert vendor.last["messages"][0]["content"] == "Call <PERSON_1> today."


def test_vendor_gets_company_key_never_the_client_key(proxy: RunningProxy, vendor: MockVendor) -> None:
    proxy.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
    headers = vendor.received[-1].headers
    assert headers["authorization"] == f"Bearer {VENDOR_KEY}"
    assert PROXY_KEY not in json.dumps(headers)


def test_unknown_fields_and_parameters_reach_vendor_as_sent(proxy: RunningProxy, vendor: MockVendor) -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Describe this picture for Maria Garcia."},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]},
        ],
        "temperature": 0.25,
        "seed": 7,
    }  # fmt: skip
    proxy.client().chat.completions.create(**body, extra_body={"a_future_parameter": {"nested": [1, 2, 3]}})  # type: ignore[call-overload]
    sent = vendor.last
    assert sent["a_future_parameter"] == {"nested": [1, 2, 3]}
    assert sent["temperature"] == 0.25 and sent["seed"] == 7
    assert sent["messages"][0]["content"][1] == body["messages"][0]["content"][1]  # type: ignore[index]
    assert sent["messages"][0]["content"][0]["text"] == "Describe this picture for <PERSON_1>."


def test_request_without_findings_is_forwarded_byte_for_byte(proxy: RunningProxy, vendor: MockVendor) -> None:
    import httpx

    raw = b'{"model":  "gpt-4o-mini",\n "messages": [{"role": "user", "content": "What is 2+2?"}], "x": 1}'
    response = httpx.post(
        proxy.url + "/v1/chat/completions",
        content=raw,
        headers={"authorization": f"Bearer {PROXY_KEY}", "content-type": "application/json"},
    )
    assert response.status_code == 200
    assert response.headers["x-proxy-decision"] == "allow"
    assert vendor.received[-1].raw == raw


def test_every_text_slot_is_scanned(proxy: RunningProxy, vendor: MockVendor) -> None:
    messages = [
        {"role": "system", "content": "You help Peter Parker."},
        {"role": "developer", "content": "Never mention Peter Parker's email peter@dailybugle.com."},
        {
            "role": "user",
            "name": "Mary Jane Watson",
            "content": [{"type": "text", "text": "Ask Mary Jane Watson."}],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "lookup",
                        "arguments": json.dumps({"email": "peter@dailybugle.com"}),
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Peter Parker lives at 20 Ingram Street."},
    ]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "Looks up Peter Parker",
                "parameters": {"type": "object"},
            },
        }
    ]
    proxy.client().chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)  # type: ignore[arg-type]
    raw = vendor.received[-1].raw.decode()
    for value in ["Peter Parker", "peter@dailybugle.com", "Mary Jane Watson"]:
        assert value not in raw
    sent = vendor.last
    assert json.loads(sent["messages"][3]["tool_calls"][0]["function"]["arguments"]) == {"email": "<EMAIL_ADDRESS_1>"}
    assert sent["messages"][0]["content"] == "You help <PERSON_1>."
    assert sent["tools"][0]["function"]["description"] == "Looks up <PERSON_1>"


def test_tool_call_arguments_are_restored_plain_and_streamed(proxy: RunningProxy, vendor: MockVendor) -> None:
    messages = [
        {"role": "user", "content": "Please send the invoice to Maria Garcia at maria@garcia-family.net today."}
    ]
    for stream in (False, True):
        vendor.script.tool_calls = [
            {"name": "send_email", "arguments": json.dumps({"to": "<EMAIL_ADDRESS_1>", "name": "<PERSON_1>"})}
        ]
        vendor.script.chunk_chars = 5
        client = proxy.client()
        if stream:
            arguments = "".join(
                call.function.arguments or ""
                for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)  # type: ignore[arg-type]
                for choice in chunk.choices
                for call in choice.delta.tool_calls or []
                if call.function
            )
        else:
            completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
            arguments = completion.choices[0].message.tool_calls[0].function.arguments  # type: ignore[index, union-attr]
        assert json.loads(arguments) == {"to": "maria@garcia-family.net", "name": "Maria Garcia"}, f"stream={stream}"


def test_same_value_gets_same_placeholder_in_every_turn(proxy: RunningProxy, vendor: MockVendor) -> None:
    turn1 = [{"role": "user", "content": "My name is Lena Fischer, mail lena@fischer.de."}]
    proxy.client().chat.completions.create(model="gpt-4o-mini", messages=turn1)  # type: ignore[arg-type]
    first = vendor.last["messages"][0]["content"]
    turn2 = turn1 + [
        {"role": "assistant", "content": "Hello Lena Fischer!"},
        {"role": "user", "content": "Also cc Tom Becker and lena@fischer.de."},
    ]
    proxy.client().chat.completions.create(model="gpt-4o-mini", messages=turn2)  # type: ignore[arg-type]
    second = vendor.last["messages"]
    assert second[0]["content"] == first == "My name is <PERSON_1>, mail <EMAIL_ADDRESS_1>."
    assert second[1]["content"] == "Hello <PERSON_1>!"
    assert second[2]["content"] == "Also cc <PERSON_2> and <EMAIL_ADDRESS_1>."


def test_echo_upstream_answers_with_what_the_vendor_would_see(proxy: RunningProxy) -> None:
    completion = proxy.client().chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "Server 81.2.69.160, card holder Jane Doe."}]
    )
    content = completion.choices[0].message.content or ""
    assert "81.2.69.160" not in content and "<IP_ADDRESS#" in content
    assert "Jane Doe" in content  # pseudonymized on the way out, restored on the way back
    stream = proxy.client().chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "Hi Jane Doe"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hi Jane Doe"


OPENAI_LISTED = ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"]
ANTHROPIC_LISTED = ["claude-sonnet-4-5", "claude-haiku-4-5"]


def test_models_lists_the_routing_table(proxy: RunningProxy) -> None:
    models = [model.id for model in proxy.client().models.list()]
    # gpt-* and claude-* are globs: the vendors' own lists filtered by them (not dall-e-3, whisper-1)
    assert models == [*OPENAI_LISTED, *ANTHROPIC_LISTED, "echo"]
