"""A stream with nothing to restore is relayed as the vendor's own bytes, and still recorded whole."""

from __future__ import annotations

import re

import httpx

from .conftest import PROXY_KEY, RunningProxy
from .mock_vendor import MockVendor

BODY = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "Tell me about tide pools."}]}


def _stream(url: str, headers: dict[str, str]) -> bytes:
    with httpx.Client(trust_env=False, timeout=10) as client:
        with client.stream("POST", url + "/v1/chat/completions", json=BODY, headers=headers) as response:
            assert response.status_code == 200
            return response.read()


def test_a_stream_without_pseudonyms_reaches_the_client_byte_for_byte(proxy: RunningProxy, vendor: MockVendor) -> None:
    through = _stream(proxy.url, {"authorization": f"Bearer {PROXY_KEY}"})
    direct = _stream(vendor.url, {})  # type: ignore[attr-defined]

    # the same events, framing and [DONE], unparsed and unchanged (the mock names each answer anew)
    assert _same_but_ids(through) == _same_but_ids(direct)
    assert through.endswith(b"data: [DONE]\n\n") and through.count(b"data: ") > 3


def test_a_relayed_stream_is_recorded_with_both_sides(proxy: RunningProxy, vendor: MockVendor) -> None:
    with httpx.Client(trust_env=False, timeout=10) as client:
        with client.stream(
            "POST", proxy.url + "/v1/chat/completions", json=BODY, headers={"authorization": f"Bearer {PROXY_KEY}"}
        ) as response:
            response.read()
            request_id = response.headers["x-proxy-request-id"]

    record = proxy.record(request_id)
    assert record.status == "ok"
    for side in (record.payloads["response_received"], record.payloads["response_returned"]):
        assert side["choices"][0]["message"]["content"] == "Tell me about tide pools."


def _same_but_ids(stream: bytes) -> bytes:
    return re.sub(rb'"(id|created)": ?("[^"]*"|\d+)', b"", stream)
