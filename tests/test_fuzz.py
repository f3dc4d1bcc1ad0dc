"""Schema-aware fuzzing of every endpoint: bodies shaped like each vendor's request (and
deliberately bent out of shape) must never get a 500 or a traceback, only a vendor-shaped answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import PROXY_KEY, RunningProxy, StartProxy
from .mock_vendor import MockVendor

# Short texts with some values the policies act on, so transform and restore run too.
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["Call Jane Doe at +1 202 555 0143", "mail jane@acme-corp.io", "<PERSON_1> said hi", ""]),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)
MODEL = st.sampled_from(["gpt-4o-mini", "claude-3-5-haiku-latest", "echo", "no-such-model"]) | JSON
ROLE = st.sampled_from(["system", "user", "assistant", "tool", "developer"]) | JSON
PART = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image_url", "input_text", "tool_result"]) | JSON}, optional={"text": TEXT | JSON}
)
CONTENT = TEXT | st.lists(PART, max_size=3) | JSON
MESSAGE = st.fixed_dictionaries({"role": ROLE, "content": CONTENT}, optional={"name": TEXT, "tool_call_id": TEXT})
EXTRA = st.dictionaries(
    st.sampled_from(["temperature", "tools", "metadata", "user", "n", "stream_options"]), JSON, max_size=2
)
STREAM = st.booleans() | JSON


def _body(valid: dict[str, st.SearchStrategy[Any]], bent: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Mostly requests the vendor would take, some bent out of shape, sometimes anything at all."""
    good = st.builds(lambda base, stream: {**base, "stream": stream}, st.fixed_dictionaries(valid), st.booleans())
    odd = st.builds(
        lambda base, extra: {**extra, **base}, st.fixed_dictionaries(bent, optional={"stream": STREAM}), EXTRA
    )
    return st.one_of(good, good, odd, JSON)


USER = st.fixed_dictionaries({"role": st.just("user"), "content": TEXT.filter(bool)})
CHAT = st.lists(USER, min_size=1, max_size=3)
BODIES = {
    "/v1/chat/completions": _body(
        {"model": st.just("gpt-4o-mini"), "messages": CHAT},
        {"model": MODEL, "messages": st.lists(MESSAGE, max_size=3) | JSON},
    ),
    "/v1/messages": _body(
        {"model": st.just("claude-3-5-haiku-latest"), "max_tokens": st.integers(1, 50), "messages": CHAT},
        {"model": MODEL, "max_tokens": st.integers(1, 50) | JSON, "messages": st.lists(MESSAGE, max_size=3) | JSON},
    ),
    "/v1/responses": _body(
        {"model": st.just("gpt-4o-mini"), "input": TEXT.filter(bool) | CHAT},
        {"model": MODEL, "input": TEXT | st.lists(MESSAGE, max_size=3) | JSON},
    ),
    "/v1/completions": _body(
        {"model": st.just("gpt-4o-mini"), "prompt": TEXT | st.lists(TEXT, min_size=1, max_size=3)},
        {"model": MODEL, "prompt": TEXT | st.lists(TEXT, max_size=3) | JSON},
    ),
    "/v1/embeddings": _body(
        {
            "model": st.just("text-embedding-3-small"),
            "input": TEXT.filter(bool) | st.lists(TEXT.filter(bool), min_size=1, max_size=3),
        },
        {"model": MODEL, "input": TEXT | st.lists(TEXT, max_size=3) | JSON},
    ),
}


@pytest.fixture(scope="module")
def fuzzed(start_proxy: StartProxy, session_vendor: MockVendor) -> Iterator[RunningProxy]:
    session_vendor.reset()
    with start_proxy() as running:
        yield running


@pytest.mark.parametrize("path", sorted(BODIES))
def test_no_generated_body_gets_a_500_or_a_traceback(fuzzed: RunningProxy, path: str) -> None:
    headers = {"authorization": f"Bearer {PROXY_KEY}", "anthropic-version": "2023-06-01"}
    statuses: set[int] = set()
    with httpx.Client(base_url=fuzzed.url, headers=headers, timeout=30) as client:

        @settings(
            max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True
        )
        @given(body=BODIES[path], raw=st.booleans())
        def check(body: Any, raw: bool) -> None:
            content = (
                json.dumps(body).encode()
                if not raw
                else json.dumps(body).encode()[: max(1, len(json.dumps(body)) // 2)]
            )
            response = client.post(path, content=content, headers={"content-type": "application/json"})
            statuses.add(response.status_code)
            assert response.status_code < 500 or response.status_code in (502, 503, 504), response.text[:300]
            assert "Traceback" not in response.text and 'File "' not in response.text
            if response.status_code >= 400 and "text/event-stream" not in response.headers.get("content-type", ""):
                error = response.json()
                assert "error" in error  # OpenAI {"error": {...}} or Anthropic {"type": "error", "error": {...}}

        check()
    assert 200 in statuses and any(400 <= status < 500 for status in statuses)  # both sides of the gate were reached


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
@given(
    name=st.sampled_from(["x-proxy-subject", "x-proxy-tags", "x-proxy-conversation", "authorization", "x-api-key"]),
    value=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=1200).map(str.strip),
)
def test_odd_header_values_get_a_clear_4xx_never_a_500(fuzzed: RunningProxy, name: str, value: str) -> None:
    headers = {"authorization": f"Bearer {PROXY_KEY}", name: value}
    body = {"model": "echo", "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(fuzzed.url + "/v1/chat/completions", json=body, headers=headers)
    assert response.status_code in (200, 400, 401), response.text[:300]
    if response.status_code != 200 and value.strip():
        assert value.strip() not in response.text or len(value.strip()) < 3  # never echoed back
