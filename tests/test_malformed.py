"""Malformed and hostile bodies (#16): each is a 4xx in the vendor's error shape that names the
problem and quotes nothing the client sent, nothing reaches the vendor, and the proxy stays
healthy afterwards. Sent as raw bytes over real HTTP, since the SDKs cannot send most of them."""

from __future__ import annotations

import gzip
import json
import socket
import time
import zlib
from collections.abc import Iterator
from typing import Any

import brotli
import httpx
import pytest

from .conftest import PROXY_KEY, RunningProxy, StartProxy
from .mock_vendor import MockVendor

MARK = "Zebulon Quartermaine"  # a value that must never come back in an error
LIMITS = {"max_body_bytes": 300_000, "body_timeout": 1.5}
OPENAI = ("/v1/chat/completions", "gpt-4o")
ANTHROPIC = ("/v1/messages", "claude-3-5-sonnet-latest")


@pytest.fixture(scope="module")
def hardened(start_proxy: StartProxy) -> Iterator[RunningProxy]:
    with start_proxy(server=LIMITS) as running:
        yield running


def _body(model: str, content: Any = f"Hello, I am {MARK}", **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": content}], **extra}


def _send(proxy: RunningProxy, path: str, content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    sent = {"content-type": "application/json", "authorization": f"Bearer {PROXY_KEY}", "x-api-key": PROXY_KEY}
    return httpx.post(proxy.url + path, content=content, headers={**sent, **(headers or {})}, timeout=60)


def _refused(proxy: RunningProxy, response: httpx.Response, status: int, names: str, path: str = OPENAI[0]) -> None:
    """The error is `status`, in the dialect's shape, names the problem, echoes nothing; the proxy
    is still healthy."""
    assert response.status_code == status, response.text
    payload = response.json()
    if path == ANTHROPIC[0]:
        assert payload["type"] == "error" and payload["error"]["type"]
        message = payload["error"]["message"]
    else:
        assert payload["error"]["code"] and payload["error"]["type"]
        message = payload["error"]["message"]
    assert names.lower() in message.lower(), message
    assert MARK not in response.text and "Zebulon" not in response.text
    assert httpx.get(proxy.url + "/healthz", timeout=10).status_code == 200


def _nested(depth: int) -> str:
    return '{"a": ' * depth + f'"{MARK}"' + "}" * depth


DIALECTS = pytest.mark.parametrize(("path", "model"), [OPENAI, ANTHROPIC], ids=["openai", "anthropic"])


@DIALECTS
@pytest.mark.parametrize("depth", [65, 1_000, 20_000])
def test_nesting_past_the_limit_is_a_400(
    hardened: RunningProxy, vendor: MockVendor, path: str, model: str, depth: int
) -> None:
    raw = json.dumps(_body(model))[:-1] + f', "metadata": {_nested(depth)}}}'
    _refused(hardened, _send(hardened, path, raw.encode()), 400, "64 levels deep", path)
    assert vendor.received == []


def test_nesting_at_the_limit_is_read(hardened: RunningProxy, vendor: MockVendor) -> None:
    raw = json.dumps(_body(OPENAI[1]))[:-1] + f', "metadata": {_nested(63)}}}'
    assert _send(hardened, OPENAI[0], raw.encode()).status_code == 200


@DIALECTS
@pytest.mark.parametrize(
    "fragment",
    [r'"content": "I am \ud800 here"', r'"content": "end \udfff"', r'"content": "x", "\ud83d": 1'],
    ids=["high", "low", "in-a-key"],
)
def test_a_lone_surrogate_is_a_400(
    hardened: RunningProxy, vendor: MockVendor, path: str, model: str, fragment: str
) -> None:
    raw = f'{{"model": "{model}", "max_tokens": 5, "messages": [{{"role": "user", {fragment}, "name": "{MARK}"}}]}}'
    _refused(hardened, _send(hardened, path, raw.encode()), 400, "surrogate", path)
    assert vendor.received == []


def test_an_escaped_surrogate_pair_is_text(hardened: RunningProxy, vendor: MockVendor) -> None:
    raw = json.dumps(_body(OPENAI[1], "a smile \U0001f600"))  # ensure_ascii: sent as \ud83d\ude00
    assert "\\ud83d" in raw and _send(hardened, OPENAI[0], raw.encode()).status_code == 200


@DIALECTS
@pytest.mark.parametrize("stream", ["yes", 1, "true", {}, []])
def test_stream_that_is_not_a_boolean_is_a_400(
    hardened: RunningProxy, vendor: MockVendor, path: str, model: str, stream: Any
) -> None:
    raw = json.dumps(_body(model, stream=stream)).encode()
    _refused(hardened, _send(hardened, path, raw), 400, "stream", path)


@DIALECTS
@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
def test_numbers_json_does_not_have_are_a_400(
    hardened: RunningProxy, vendor: MockVendor, path: str, model: str, number: str
) -> None:
    raw = json.dumps(_body(model))[:-1] + f', "temperature": {number}}}'
    _refused(hardened, _send(hardened, path, raw.encode()), 400, "NaN, Infinity", path)
    assert vendor.received == []


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (b'{"model": "gpt-4o", "messages": [', "not valid JSON"),
        (b'{"model": "gpt-4o", "model": "gpt-4o", "messages": []}', "repeats a key"),
        (b'["Zebulon Quartermaine"]', "must be a JSON object"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "\xff\xfe Zebulon"}]}', "not valid JSON"),
        (b"", "not valid JSON"),
        (b'"Zebulon Quartermaine"', "must be a JSON object"),
    ],
    ids=["truncated", "duplicate-key", "array", "bad-utf8", "empty", "string"],
)
def test_bodies_that_are_not_a_json_object_are_a_400(hardened: RunningProxy, raw: bytes, names: str) -> None:
    _refused(hardened, _send(hardened, OPENAI[0], raw), 400, names)


@pytest.mark.parametrize("depth", [65, 900, 1_500])
def test_tool_arguments_nested_deeply_inside_a_string_are_scanned_as_text(
    hardened: RunningProxy, vendor: MockVendor, depth: int
) -> None:
    arguments = "[" * depth + "]" * depth
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
    ]
    response = _send(hardened, OPENAI[0], json.dumps({"model": "gpt-4o", "messages": messages}).encode())
    assert response.status_code == 200, response.text


def test_a_body_over_the_byte_limit_is_a_413_naming_the_setting(hardened: RunningProxy, vendor: MockVendor) -> None:
    raw = json.dumps(_body(OPENAI[1], MARK + " " + "a" * 310_000)).encode()
    _refused(hardened, _send(hardened, OPENAI[0], raw), 413, "server.max_body_bytes")


@DIALECTS
def test_more_text_than_max_scan_chars_is_a_413_naming_the_setting(
    hardened: RunningProxy, vendor: MockVendor, path: str, model: str
) -> None:
    raw = json.dumps(_body(model, MARK + " words" * 20_000)).encode()  # 120 000 characters > 100 000
    _refused(hardened, _send(hardened, path, raw), 413, "settings.max_scan_chars in policy default", path)
    assert vendor.received == []


def test_a_scan_over_the_time_budget_fails_closed_with_a_413(start_proxy: StartProxy, vendor: MockVendor) -> None:
    with start_proxy(detection={"timeout": 0.001}) as running:
        raw = json.dumps(_body(OPENAI[1], f"{MARK} wrote this at {time.time()}")).encode()
        _refused(running, _send(running, OPENAI[0], raw), 413, "detection.timeout")
    assert vendor.received == []


def test_a_stalled_body_is_a_408_and_the_proxy_serves_others_meanwhile(hardened: RunningProxy) -> None:
    host, port = hardened.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as stalled:
        head = (
            f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {PROXY_KEY}\r\n"
            "content-type: application/json\r\ncontent-length: 500\r\n\r\n"
        )
        stalled.sendall(head.encode() + b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "Zebulon')
        assert httpx.get(hardened.url + "/healthz", timeout=5).status_code == 200
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = stalled.recv(65536)
            if not chunk:
                break
            answer += chunk
    head_part, _, body = answer.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 408"), answer[:200]
    error = json.loads(body)["error"]
    assert error["code"] == "request_timeout" and "server.body_timeout" in error["message"]
    assert b"Zebulon" not in answer
    assert httpx.get(hardened.url + "/healthz", timeout=5).status_code == 200


def _brotli(data: bytes) -> bytes:
    return bytes(brotli.compress(data))


ENCODINGS = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": _brotli,
}


@DIALECTS
@pytest.mark.parametrize("encoding", [*ENCODINGS, "deflate-raw", "gzip, br"])
def test_compressed_bodies_are_decoded_and_scanned(
    hardened: RunningProxy, vendor: MockVendor, path: str, model: str, encoding: str
) -> None:
    raw = json.dumps(_body(model, "Please write to Peter Parker about the invoice")).encode()
    if encoding == "deflate-raw":
        packer = zlib.compressobj(wbits=-15)
        encoded, header = packer.compress(raw) + packer.flush(), "deflate"
    elif encoding == "gzip, br":
        encoded, header = _brotli(gzip.compress(raw)), encoding
    else:
        encoded, header = ENCODINGS[encoding](raw), encoding
    response = _send(hardened, path, encoded, {"content-encoding": header})
    assert response.status_code == 200, response.text
    assert "Peter Parker" not in json.dumps(vendor.last) and "<PERSON_1>" in json.dumps(vendor.last)


@pytest.mark.parametrize("encoding", ["zstd", "compress", "gzip, snappy"])
def test_an_encoding_we_cannot_undo_is_a_415(hardened: RunningProxy, vendor: MockVendor, encoding: str) -> None:
    raw = gzip.compress(json.dumps(_body(OPENAI[1])).encode())
    _refused(hardened, _send(hardened, OPENAI[0], raw, {"content-encoding": encoding}), 415, "Content-Encoding")
    assert vendor.received == []


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_a_zip_bomb_is_a_413_not_a_decompressed_gigabyte(hardened: RunningProxy, encoding: str) -> None:
    bomb = ENCODINGS[encoding](b" " * 50_000_000)  # 50 MB of spaces in a few kilobytes
    assert len(bomb) < LIMITS["max_body_bytes"]
    _refused(hardened, _send(hardened, OPENAI[0], bomb, {"content-encoding": encoding}), 413, "decompressed")


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_corrupt_or_truncated_compressed_data_is_a_400_naming_the_encoding(
    hardened: RunningProxy, encoding: str
) -> None:
    packed = ENCODINGS[encoding](json.dumps(_body(OPENAI[1])).encode())
    for broken in (packed[: len(packed) // 2], b"Zebulon " + packed):
        _refused(hardened, _send(hardened, OPENAI[0], broken, {"content-encoding": encoding}), 400, encoding)


U = [{"role": "user", "content": "hi"}]
ODD_SHAPES = [
    ("/v1/chat/completions", {"model": 123, "messages": U}),
    ("/v1/chat/completions", {"model": None, "messages": U}),
    ("/v1/chat/completions", {"model": ["gpt-4o"], "messages": U}),
    ("/v1/chat/completions", {"model": "", "messages": U}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": "hi"}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": [1]}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": 5, "content": "x"}]}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": 5}]}),
    (
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
    ),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": 5}]}]}),
    (
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]},
    ),
    (
        "/v1/chat/completions",
        {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 5}}]}],
        },
    ),
    (
        "/v1/chat/completions",
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:text/plain;base64,!!!"}}]}
            ],
        },
    ),
    (
        "/v1/chat/completions",
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/%zz%?q=%"}}]}
            ],
        },
    ),
    (
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "data:text/plain;base64," + "QUFB" * 5000}]},
    ),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": "%E0%A4%A" * 1000}]}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": 5}]}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": [5]}]}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": [{"function": 5}]}]}),
    (
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": [{"function": {"arguments": 5}}]}]},
    ),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": U, "tools": 5}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": U, "tools": [{"type": "function", "function": "x"}]}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": U, "stream": True, "stream_options": "x"}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": U, "n": 1e308, "max_tokens": 10**30}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": U, "user": 5, "metadata": 5}),
    ("/v1/messages", {"model": "claude-3-5-sonnet-latest", "max_tokens": 5, "system": 5, "messages": U}),
    (
        "/v1/messages",
        {"model": "claude-3-5-sonnet-latest", "max_tokens": 5, "system": [{"type": "text", "text": 5}], "messages": U},
    ),
    (
        "/v1/messages",
        {
            "model": "claude-3-5-sonnet-latest",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "tool_result", "content": 5}]}],
        },
    ),
    (
        "/v1/messages",
        {
            "model": "claude-3-5-sonnet-latest",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "image", "source": 5}]}],
        },
    ),
    (
        "/v1/messages",
        {
            "model": "claude-3-5-sonnet-latest",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "text", "data": 5}}]}],
        },
    ),
    ("/v1/messages", {"model": "claude-3-5-sonnet-latest", "max_tokens": 5, "messages": [{"role": "user"}]}),
    ("/v1/messages", {"model": "claude-3-5-sonnet-latest", "max_tokens": 5, "messages": U, "metadata": {"user_id": 5}}),
    ("/v1/responses", {"model": "gpt-4o", "input": 5}),
    ("/v1/responses", {"model": "gpt-4o", "input": [{"type": "message", "role": "user", "content": 5}]}),
    ("/v1/responses", {"model": "gpt-4o", "input": [5, None]}),
    ("/v1/responses", {"model": "gpt-4o", "input": "hi", "instructions": 5}),
    ("/v1/embeddings", {"model": "text-embedding-3-small", "input": [[1, 2, 3]]}),
    ("/v1/embeddings", {"model": "text-embedding-3-small", "input": 5}),
    ("/v1/embeddings", {"model": "text-embedding-3-small", "input": [None]}),
    ("/v1/completions", {"model": "gpt-4o", "prompt": [[1, 2]]}),
    ("/v1/completions", {"model": "gpt-4o", "prompt": 5}),
]


@pytest.mark.parametrize(
    ("path", "body"), ODD_SHAPES, ids=[f"{i}-{p.rsplit('/', 1)[-1]}" for i, (p, _) in enumerate(ODD_SHAPES)]
)
def test_odd_shapes_never_get_a_5xx(
    hardened: RunningProxy, vendor: MockVendor, path: str, body: dict[str, Any]
) -> None:
    response = _send(hardened, path, json.dumps(body).encode())
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert "error" in response.json()
    assert httpx.get(hardened.url + "/healthz", timeout=10).status_code == 200


def test_an_integer_too_long_to_convert_is_a_400(hardened: RunningProxy) -> None:
    raw = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "seed": ' + b"9" * 5000 + b"}"
    _refused(hardened, _send(hardened, OPENAI[0], raw), 400, "not valid JSON")


def test_tool_calls_that_are_not_objects_are_refused_not_forwarded_unscanned(
    hardened: RunningProxy, vendor: MockVendor
) -> None:
    for calls in (5, [f"call {MARK}"], [7]):
        messages = [*U, {"role": "assistant", "content": None, "tool_calls": calls}]
        raw = json.dumps({"model": "gpt-4o", "messages": messages}).encode()
        _refused(hardened, _send(hardened, OPENAI[0], raw), 400, "tool_calls must be an array of objects")
    assert vendor.received == []


def test_tool_arguments_sent_as_an_object_are_scanned(hardened: RunningProxy, vendor: MockVendor) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "mail", "arguments": {"to": "jane.roe@corp-mail.net"}}}
    messages = [*U, {"role": "assistant", "content": None, "tool_calls": [call]}]
    response = _send(hardened, OPENAI[0], json.dumps({"model": "gpt-4o", "messages": messages}).encode())
    assert response.status_code < 500  # the vendor refuses non-string arguments; what it saw is scanned
    assert vendor.received and "jane.roe@corp-mail.net" not in json.dumps(vendor.last)
    assert "<EMAIL_ADDRESS_1>" in json.dumps(vendor.last)
