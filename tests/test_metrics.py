"""`GET /metrics`: counts by fixed labels, and never a value from a request."""

from __future__ import annotations

import httpx
import openai
import pytest

from .conftest import RunningProxy
from .mock_vendor import MockVendor


def test_metrics_count_requests_findings_and_stages_without_any_value(proxy: RunningProxy, vendor: MockVendor) -> None:
    client = proxy.client()
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Mail peter@dailybugle.com"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "card 4111 1111 1111 1111"}]
        )
    proxy.services.recorder.flush()
    text = httpx.get(proxy.url + "/metrics").text
    assert (
        'privacy_proxy_requests_total{decision="block",endpoint="openai-chat",status="blocked",upstream="openai"}'
        in text
    )
    assert 'privacy_proxy_findings_total{action="pseudonymize",entity_type="EMAIL_ADDRESS",mode="enforce"}' in text
    assert 'privacy_proxy_stage_seconds_count{stage="detect"}' in text
    assert "privacy_proxy_record_queue_depth" in text
    for value in ("peter@dailybugle.com", "4111", "dailybugle"):
        assert value not in text


def test_metrics_show_the_spool_replays_and_concurrency(proxy: RunningProxy, vendor: MockVendor) -> None:
    text = httpx.get(proxy.url + "/metrics").text
    for name in (
        "privacy_proxy_spool_bytes",
        "privacy_proxy_spool_replayed_records_total",
        "privacy_proxy_records_lost_total",
        "privacy_proxy_requests_in_flight",
        "privacy_proxy_requests_waiting",
        "privacy_proxy_policy_reloads_total",
    ):
        assert name in text


def test_readyz_reports_a_warm_detector_and_turns_503_when_records_cannot_be_kept(
    proxy: RunningProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready = httpx.get(proxy.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["detector"] == "warm" and ready.json()["database"] == "ok"
    monkeypatch.setattr(proxy.services.recorder, "full", lambda: True)
    full = httpx.get(proxy.url + "/readyz")
    assert full.status_code == 503 and "spool are full" in full.json()["status"]
