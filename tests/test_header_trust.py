"""Headers a client should not control alone (#16): `X-Proxy-Subject` only from keys trusted to
name end users; `X-Proxy-Capture` lowered only as far as the key and the policies allow, each
granted downgrade counted and audited. Driven with the SDKs' `extra_headers`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from anthropic import Anthropic
from openai import OpenAI

from proxy.config import KeyLimits
from proxy.store.audit import audit_rows
from proxy.store.keys import create_key

from .conftest import RunningProxy, StartProxy
from .mock_vendor import MockVendor

HELLO = [{"role": "user", "content": "hello"}]
SUBJECT = {"X-Proxy-Subject": "user-4711"}


@pytest.fixture(scope="module")
def trusting(start_proxy: StartProxy) -> Iterator[RunningProxy]:
    with start_proxy() as running:
        yield running


def _key(proxy: RunningProxy, name: str, **permissions: bool) -> str:
    return create_key(proxy.services.recorder.engine, name, "qa", KeyLimits(**permissions))


def _openai(proxy: RunningProxy, key: str) -> OpenAI:
    return OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0)


def _request_id(error: openai.APIStatusError | anthropic.APIStatusError) -> str:
    return error.response.headers["x-proxy-request-id"]


def test_a_key_not_trusted_with_subjects_gets_403_and_the_subject_is_not_recorded(
    trusting: RunningProxy, vendor: MockVendor
) -> None:
    with _openai(trusting, _key(trusting, "app-untrusted")) as client:
        with pytest.raises(openai.PermissionDeniedError) as caught:
            client.chat.completions.create(model="gpt-4o", messages=HELLO, extra_headers=SUBJECT)
    assert caught.value.code == "subject_not_allowed" and "may_assert_subject" in caught.value.message
    assert "user-4711" not in caught.value.response.text
    record = trusting.record(_request_id(caught.value))
    assert record.status == "forbidden" and record.request["subject"] is None
    assert vendor.received == []


def test_a_trusted_key_names_the_subject_in_both_dialects(trusting: RunningProxy, vendor: MockVendor) -> None:
    key = _key(trusting, "app-trusted", may_assert_subject=True)
    with _openai(trusting, key) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HELLO, extra_headers=SUBJECT)
    assert trusting.record(raw.headers["x-proxy-request-id"]).request["subject"] == "user-4711"
    with Anthropic(base_url=trusting.url, api_key=key, max_retries=0) as client:
        message = client.messages.with_raw_response.create(
            model="claude-3-5-sonnet-latest", max_tokens=20, messages=HELLO, extra_headers=SUBJECT
        )
    assert trusting.record(message.headers["x-proxy-request-id"]).request["subject"] == "user-4711"


def test_anthropic_clients_get_the_subject_refusal_in_anthropic_shape(trusting: RunningProxy) -> None:
    with Anthropic(base_url=trusting.url, api_key=_key(trusting, "claude-app"), max_retries=0) as client:
        with pytest.raises(anthropic.PermissionDeniedError) as caught:
            client.messages.create(
                model="claude-3-5-sonnet-latest", max_tokens=20, messages=HELLO, extra_headers=SUBJECT
            )
    assert caught.value.body["type"] == "error" and "X-Proxy-Subject" in caught.value.message  # type: ignore[index]


def test_capture_none_needs_the_keys_permission(trusting: RunningProxy, vendor: MockVendor) -> None:
    with _openai(trusting, _key(trusting, "no-skip")) as client:
        with pytest.raises(openai.PermissionDeniedError) as caught:
            client.chat.completions.create(model="gpt-4o", messages=HELLO, extra_headers={"X-Proxy-Capture": "none"})
    assert caught.value.code == "capture_not_allowed" and "may_skip_capture" in caught.value.message
    assert vendor.received == []
    with _openai(trusting, _key(trusting, "may-skip", may_skip_capture=True)) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=HELLO, extra_headers={"X-Proxy-Capture": "none"}
        )
    request_id = raw.headers["x-proxy-request-id"]
    record = trusting.record(request_id)
    assert record.request["capture"] == "none" and record.payloads == {}
    audit = [
        r
        for r in audit_rows(trusting.services.recorder.engine, action="capture_downgrade")
        if r["target"] == request_id
    ]
    assert [(r["actor"], r["details"]) for r in audit] == [("may-skip", {"requested": "none", "kept": "none"})]


def test_every_granted_downgrade_is_counted_and_audited(trusting: RunningProxy, vendor: MockVendor) -> None:
    def counted(level: str) -> float:
        for line in httpx.get(trusting.url + "/metrics", timeout=10).text.splitlines():
            if line.startswith(f'privacy_proxy_capture_downgrades_total{{level="{level}"}}'):
                return float(line.split()[-1])
        return 0.0

    before = counted("metadata")
    with _openai(trusting, _key(trusting, "lowers")) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=HELLO, extra_headers={"X-Proxy-Capture": "metadata"}
        )
    request_id = raw.headers["x-proxy-request-id"]
    assert trusting.record(request_id).request["capture"] == "metadata"
    assert counted("metadata") == before + 1
    rows = [
        r
        for r in audit_rows(trusting.services.recorder.engine, action="capture_downgrade")
        if r["target"] == request_id
    ]
    assert len(rows) == 1 and rows[0]["actor"] == "lowers" and rows[0]["details"]["requested"] == "metadata"


POLICY = """id: floor
version: 1
settings:
{settings}
rules: []
"""


def _policies(tmp_path: Path, settings: str) -> str:
    (tmp_path / "floor.yaml").write_text(POLICY.format(settings=settings))
    return str(tmp_path)


def test_a_policy_may_allow_capture_none_for_every_key(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path
) -> None:
    with start_proxy(policies=_policies(tmp_path, "  allow_capture_none: true")) as running:
        with _openai(running, _key(running, "plain")) as client:
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=HELLO, extra_headers={"X-Proxy-Capture": "none"}
            )
        assert running.record(raw.headers["x-proxy-request-id"]).request["capture"] == "none"


def test_a_policy_minimum_capture_refuses_smaller_records_even_for_trusted_keys(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path
) -> None:
    with start_proxy(policies=_policies(tmp_path, "  min_capture: redacted")) as running:
        client = running.client()  # the suite's key may skip capture, but not below a policy's floor
        for level in ("metadata", "none"):
            with pytest.raises(openai.PermissionDeniedError) as caught:
                client.chat.completions.create(model="gpt-4o", messages=HELLO, extra_headers={"X-Proxy-Capture": level})
            assert "settings.min_capture in policy floor" in caught.value.message
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=HELLO, extra_headers={"X-Proxy-Capture": "redacted"}
        )
        assert running.record(raw.headers["x-proxy-request-id"]).request["capture"] == "redacted"
    assert len(vendor.received) == 1
