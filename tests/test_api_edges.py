"""The API edges SDK users reach first: the model list and Anthropic's token counting."""

from __future__ import annotations

import logging

import anthropic
import pytest

from .conftest import RunningProxy, StartProxy
from .mock_vendor import MockVendor

MODEL = "claude-proxy-test"


def _asked_for_models(vendor: MockVendor) -> int:
    return sum(received.url.endswith("/models") or "/models?" in received.url for received in vendor.received)


def test_when_routes_are_globs_then_the_vendors_lists_are_filtered_by_them_and_cached(
    start_proxy: StartProxy, vendor: MockVendor
) -> None:
    with start_proxy() as proxy:
        first = [model.id for model in proxy.client().models.list()]
        again = [model.id for model in proxy.client().models.list()]
    assert (
        first
        == again
        == ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "claude-sonnet-4-5", "claude-haiku-4-5", "echo"]
    )
    assert _asked_for_models(vendor) == 2  # once per glob upstream, then from the cache
    assert all(r.headers.get("authorization") != "Bearer pp-test-key-for-the-suite" for r in vendor.received)


def test_when_a_vendor_cannot_list_its_models_then_the_literal_names_stand_and_it_is_not_asked_again_at_once(
    start_proxy: StartProxy, vendor: MockVendor, caplog: pytest.LogCaptureFixture
) -> None:
    vendor.script.status = 503
    with caplog.at_level(logging.WARNING, "proxy.models"), start_proxy() as proxy:
        assert [model.id for model in proxy.client().models.list()] == ["echo"]
        vendor.script.status = None
        assert [model.id for model in proxy.anthropic().models.list()] == ["echo"]  # retried only after a pause
    assert _asked_for_models(vendor) == 2
    assert "did not list its models (UpstreamError)" in caplog.text


def test_count_tokens_is_scanned_forwarded_and_recorded(proxy: RunningProxy, vendor: MockVendor) -> None:
    raw = proxy.anthropic().messages.with_raw_response.count_tokens(
        model=MODEL,
        system="You help Peter Parker.",
        messages=[{"role": "user", "content": "Write to Peter Parker at peter@dailybugle.com"}],
    )
    counted = raw.parse()
    sent = vendor.last
    assert vendor.received[-1].url.endswith("/v1/messages/count_tokens")
    assert sent["system"] == "You help <PERSON_1>."
    assert sent["messages"][0]["content"] == "Write to <PERSON_1> at <EMAIL_ADDRESS_1>"
    assert counted.input_tokens > 0 and raw.headers["x-proxy-decision"] == "transform"
    record = proxy.record(raw.headers["x-proxy-request-id"])
    assert record.request["endpoint"] == "anthropic-count-tokens" and record.request["status"] == "ok"
    assert {finding["entity_type"] for finding in record.findings} >= {"PERSON", "EMAIL_ADDRESS"}


def test_count_tokens_of_a_blocked_request_is_refused_in_anthropics_shape(
    proxy: RunningProxy, vendor: MockVendor
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        proxy.anthropic().messages.count_tokens(
            model=MODEL, messages=[{"role": "user", "content": "card 4111 1111 1111 1111"}]
        )
    body = caught.value.response.json()
    assert body["type"] == "error" and body["error"]["type"] == "policy_violation"
    assert "4111" not in caught.value.response.text and vendor.received == []
