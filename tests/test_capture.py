"""Consent to capture: `X-Proxy-Capture` and the policies' `settings.capture` decide what a
record keeps; a client can ask for less, never for more."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from proxy.detection import DetectionEngine
from proxy.policy.checks import check

from .conftest import PROXY_KEY, REPO, RunningProxy, StartProxy
from .mock_vendor import MockVendor

ALL = {"original", "forwarded", "response_received", "response_returned"}
TEXT = "Ask Peter Parker at peter@dailybugle.com"


def _send(running: RunningProxy, capture: str | None) -> tuple[str, str]:
    """(request id, the capture level the proxy says it applied)."""
    headers = {"X-Proxy-Subject": "user-7", "X-Proxy-Conversation": "c-1", "X-Proxy-Tags": "eu"}
    if capture is not None:
        headers["X-Proxy-Capture"] = capture
    raw = running.client().chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": TEXT}], extra_headers=headers
    )
    return raw.headers["x-proxy-request-id"], raw.headers["x-proxy-capture"]


@pytest.mark.parametrize(
    ("level", "kept", "findings"),
    [
        ("full", ALL, 2),
        ("redacted", {"forwarded", "response_received"}, 2),
        ("metadata", set(), 2),
        ("none", set(), 0),
    ],
)
def test_each_capture_level_keeps_what_it_promises(
    proxy: RunningProxy, vendor: MockVendor, level: str, kept: set[str], findings: int
) -> None:
    request_id, applied = _send(proxy, level)
    record = proxy.record(request_id)
    assert applied == record.request["capture"] == level
    assert set(record.payloads) == kept and len(record.findings) == findings
    if "forwarded" in kept:  # what is kept at `redacted` holds stand-ins, never the values
        assert record.payloads["forwarded"]["messages"][0]["content"] == "Ask <PERSON_1> at <EMAIL_ADDRESS_1>"
        assert "Peter Parker" not in str(record.payloads["response_received"])
    named = (record.request["subject"], record.request["conversation"], record.request["tags"])
    assert named == ((None, None, None) if level == "none" else ("user-7", "c-1", "eu"))
    assert (record.request["status"], record.request["model"], record.request["total_tokens"]) == ("ok", "gpt-4o", 18)


@pytest.fixture(scope="module")
def keeps_less(start_proxy: StartProxy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    """A proxy whose policies add one that allows records no more than `redacted`."""
    policies = tmp_path_factory.mktemp("capture") / "policies"
    shutil.copytree(REPO / "policies", policies)
    (policies / "keep-less.yaml").write_text("id: keep-less\nsettings:\n  capture: redacted\n")
    with start_proxy(policies=str(policies)) as running:
        yield running


def test_a_policy_for_another_team_does_not_bound_this_teams_capture(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    (policies / "hr-keeps-less.yaml").write_text(
        "id: hr-keeps-less\napplies_to: {teams: [hr]}\nsettings:\n  capture: none\n"
    )
    with start_proxy(policies=str(policies)) as running:  # the suite's key belongs to team "qa"
        request_id, applied = _send(running, None)
        record = running.record(request_id)
    assert applied == record.request["capture"] == "full" and set(record.payloads) == ALL


@pytest.mark.parametrize(("asked", "applied"), [(None, "redacted"), ("full", "redacted"), ("none", "none")])
def test_a_client_cannot_capture_more_than_the_policies_allow(
    keeps_less: RunningProxy, vendor: MockVendor, asked: str | None, applied: str
) -> None:
    request_id, said = _send(keeps_less, asked)
    record = keeps_less.record(request_id)
    assert said == record.request["capture"] == applied
    assert "original" not in record.payloads and "response_returned" not in record.payloads


def test_a_request_refused_before_its_policies_are_known_keeps_no_more_than_the_strictest(
    keeps_less: RunningProxy, vendor: MockVendor
) -> None:
    """Which policies apply depends on the model: a body that cannot be read is bounded by all of them."""
    response = httpx.post(
        keeps_less.url + "/v1/chat/completions",
        content=b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "Peter Parker"',
        headers={"Authorization": f"Bearer {PROXY_KEY}", "Content-Type": "application/json"},
    )
    record = keeps_less.record(response.headers["x-proxy-request-id"])
    assert (response.status_code, record.request["status"], record.request["capture"]) == (
        400,
        "bad_request",
        "redacted",
    )
    assert record.payloads == {}


def test_an_unknown_capture_level_is_a_vendor_shaped_400_naming_the_header(
    proxy: RunningProxy, vendor: MockVendor
) -> None:
    with pytest.raises(openai.BadRequestError) as openai_error:
        proxy.client().chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": TEXT}],
            extra_headers={"X-Proxy-Capture": "everything"},
        )
    with pytest.raises(anthropic.BadRequestError) as anthropic_error:
        proxy.anthropic().messages.create(
            model="claude-3-5-sonnet-latest",
            max_tokens=32,
            messages=[{"role": "user", "content": TEXT}],
            extra_headers={"X-Proxy-Capture": "everything"},
        )
    assert openai_error.value.body["code"] == "invalid_capture"  # type: ignore[index]
    assert anthropic_error.value.body["type"] == "error"  # type: ignore[index]
    for error in (openai_error.value, anthropic_error.value):
        assert "X-Proxy-Capture" in error.message and "everything" not in error.message
    assert vendor.received == []


def test_policy_check_refuses_an_unknown_capture_level(detector: DetectionEngine, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("id: p\nsettings:\n  capture: everything\n")
    report = check(tmp_path, detector)
    assert len(report.errors) == 1 and "settings.capture" in str(report.errors[0])


def test_a_stream_is_recorded_at_the_level_asked_for(proxy: RunningProxy, vendor: MockVendor) -> None:
    """Streams are recorded when their last event has gone out, by another path than whole answers."""
    with proxy.client().chat.completions.with_streaming_response.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": TEXT}],
        stream=True,
        extra_headers={"X-Proxy-Capture": "redacted"},
    ) as response:
        request_id = response.headers["x-proxy-request-id"]
        assert response.headers["x-proxy-capture"] == "redacted"
        for _ in response.iter_lines():
            pass
    record = proxy.record(request_id)
    assert (record.request["stream"], record.request["capture"]) == (True, "redacted")
    assert set(record.payloads) == {"forwarded", "response_received"}
    assert (
        record.payloads["response_received"]["choices"][0]["message"]["content"]
        == "Ask <PERSON_1> at <EMAIL_ADDRESS_1>"
    )
