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
