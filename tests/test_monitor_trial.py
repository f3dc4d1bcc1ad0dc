"""A monitor trial runs on top of what is enforced and never weakens it (#17).

The enforced set (the policies that applied before the trial) decides what reaches the vendor;
a monitored policy, or a rule overridden in `mode: monitor`, only records what it would have done.
Driven through the official SDKs against the mock vendor, with two keys of two teams: one under
the trial, one not, so the forwarded text of each can be compared byte for byte.
"""

from __future__ import annotations

import asyncio
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from anthropic import Anthropic
from openai import OpenAI

from proxy.config import hash_api_key
from proxy.detection import DetectionEngine
from proxy.dry_run import run_tests
from proxy.exchange import Finding, Slot
from proxy.policy.decide import decide
from proxy.policy.loader import load_policies
from proxy.policy.schema import Policy, RequestContext

from .conftest import PROXY_KEY, REPO, RunningProxy, StartProxy
from .mock_vendor import MockVendor

OTHER_KEY = "pp-test-key-of-a-team-without-a-trial"
TEXT = "Please write to Peter Parker at peter@dailybugle.com about DE89370400440532013000"
CARD = "Charge 4111 1111 1111 1111 for the order"

#: a trial for team qa that would allow everything: monitored, it must change nothing
ALLOW_EVERYTHING = """
id: trial
version: 1
inherits: default
mode: monitor
applies_to: {teams: [qa]}
allow: ["Peter Parker", "peter@dailybugle.com"]
settings: {min_score: 1.0, on_detector_error: allow}
rules:
  - {id: contact-details, detect: [PERSON, EMAIL_ADDRESS, PHONE_NUMBER], action: allow}
  - {id: bank-accounts, detect: [IBAN_CODE, US_BANK_NUMBER], action: allow}
  - {id: payment-cards, detect: [CREDIT_CARD], action: allow}
"""

#: an enforced team policy that trials a weaker version of one inherited rule
RULE_TRIAL = """
id: team-qa
version: 1
inherits: default
applies_to: {teams: [qa]}
rules:
  - {id: contact-details, detect: [PERSON, EMAIL_ADDRESS, PHONE_NUMBER], action: allow, mode: monitor}
  - {id: payment-cards, detect: [CREDIT_CARD], action: allow, mode: monitor}
"""


def _policies(tmp_path: Path, **extra: str) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(REPO / "policies", directory)
    for name, text in extra.items():
        (directory / f"{name}.yaml").write_text(textwrap.dedent(text))
    return directory


@pytest.fixture
def two_teams(start_proxy: StartProxy, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RunningProxy]:
    """A proxy with the shipped policies plus `request.param`, and a key for team qa and one for sales."""
    keys = [
        {"name": "suite", "team": "qa", "sha256": hash_api_key(PROXY_KEY)},
        {"name": "other", "team": "sales", "sha256": hash_api_key(OTHER_KEY)},
    ]
    with start_proxy(policies=str(_policies(tmp_path, trial=request.param)), keys=keys) as running:
        yield running


def _openai(running: RunningProxy, key: str, text: str) -> tuple[int, str, dict[str, Any], str]:
    """(status, request id, what the vendor received, decision header) through the OpenAI SDK."""
    with OpenAI(base_url=running.url + "/v1", api_key=key, max_retries=0) as client:
        try:
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=[{"role": "user", "content": text}]
            )
        except openai.BadRequestError as error:
            return error.status_code, error.response.headers["x-proxy-request-id"], {}, "block"
    return raw.status_code, raw.headers["x-proxy-request-id"], dict(raw.headers), raw.headers["x-proxy-decision"]


def _anthropic(running: RunningProxy, key: str, text: str) -> int:
    with Anthropic(base_url=running.url, api_key=key, max_retries=0) as client:
        try:
            client.messages.create(
                model="claude-proxy-test", max_tokens=50, messages=[{"role": "user", "content": text}]
            )
        except anthropic.BadRequestError as error:
            return error.status_code
    return 200


def _forwarded_openai(running: RunningProxy, vendor: MockVendor, key: str, text: str) -> tuple[int, str, str]:
    before = len(vendor.received)
    status, request_id, _, decision = _openai(running, key, text)
    sent = vendor.last["messages"][0]["content"] if len(vendor.received) > before else ""
    return status, decision, sent + "|" + request_id


@pytest.mark.parametrize("two_teams", [ALLOW_EVERYTHING, RULE_TRIAL], indirect=True, ids=["policy", "rule"])
def test_a_monitor_trial_that_allows_everything_forwards_exactly_what_is_enforced_without_it(
    two_teams: RunningProxy, vendor: MockVendor
) -> None:
    for text in (TEXT, CARD):
        trial_status, trial_decision, trial_sent = _forwarded_openai(two_teams, vendor, PROXY_KEY, text)
        other_status, other_decision, other_sent = _forwarded_openai(two_teams, vendor, OTHER_KEY, text)
        assert (trial_status, trial_decision) == (other_status, other_decision), text
        assert trial_sent.split("|")[0] == other_sent.split("|")[0], text
    assert trial_sent.split("|")[0] == ""  # the card was blocked for both: nothing was sent
    _, _, sent = _forwarded_openai(two_teams, vendor, PROXY_KEY, TEXT)
    assert "Peter Parker" not in sent and "peter@dailybugle.com" not in sent and "<PERSON_1>" in sent
    assert "******************3000" in sent
    before = len(vendor.received)
    assert _anthropic(two_teams, PROXY_KEY, CARD) == 400 and len(vendor.received) == before
    assert _anthropic(two_teams, PROXY_KEY, TEXT) == 200
    assert "Peter Parker" not in vendor.last["messages"][0]["content"]


@pytest.mark.parametrize("two_teams", [ALLOW_EVERYTHING], indirect=True)
def test_the_trial_records_what_it_would_have_done_beside_what_was_done(two_teams: RunningProxy) -> None:
    _, request_id, headers, decision = _openai(two_teams, PROXY_KEY, TEXT)
    record = two_teams.record(request_id)
    assert decision == "transform" and record.request["decision"] == "transform"
    assert "trial@1" in headers["x-proxy-policy"] and "default@4" in headers["x-proxy-policy"]
    done = {(f["entity_type"], f["action"]) for f in record.findings if f["mode"] == "enforce"}
    would = {(f["entity_type"], f["action"]) for f in record.findings if f["mode"] == "monitor"}
    assert {("PERSON", "pseudonymize"), ("EMAIL_ADDRESS", "pseudonymize"), ("IBAN_CODE", "mask")} <= done
    assert {("PERSON", "allow"), ("EMAIL_ADDRESS", "allow"), ("IBAN_CODE", "allow")} <= would
    _, blocked_id, _, _ = _openai(two_teams, PROXY_KEY, CARD)
    blocked = two_teams.record(blocked_id)
    assert blocked.request["decision"] == "block" and blocked.status == "blocked"
    assert ("CREDIT_CARD", "allow", "monitor") in {(f["entity_type"], f["action"], f["mode"]) for f in blocked.findings}


def _load(tmp_path: Path, detector: DetectionEngine, **extra: str) -> Any:
    return load_policies(_policies(tmp_path, **extra), known_entities=detector.supported_entities())


def test_a_monitored_child_runs_beside_its_parent_and_an_enforced_child_replaces_it(
    detector: DetectionEngine, tmp_path: Path
) -> None:
    policy_set = _load(tmp_path, detector, trial=ALLOW_EVERYTHING)
    chosen = policy_set.select(RequestContext(team="qa"))
    assert {p.id for p in chosen} >= {"default", "trial"}
    finance = {p.id for p in policy_set.select(RequestContext(team="finance"))}
    assert "finance" in finance and "default" not in finance


def test_an_override_in_monitor_mode_keeps_the_inherited_rule_enforced_under_the_same_id(
    detector: DetectionEngine, tmp_path: Path
) -> None:
    policy: Policy = _load(tmp_path, detector, trial=RULE_TRIAL).get("team-qa")
    modes = sorted((r.action, policy.rule_mode(r)) for r in policy.rules if r.id == "contact-details")
    assert modes == [("allow", "monitor"), ("pseudonymize", "enforce")]
    text = "Peter Parker"
    decision = decide([Finding(0, 0, len(text), "PERSON", 0.9)], [Slot(("m",), text)], [policy], RequestContext())
    assert decision.kind == "transform" and [r.action for r in decision.monitored] == ["allow"]


def test_a_request_under_monitored_policies_only_is_refused_as_under_no_policy() -> None:
    trial = Policy(id="trial", mode="monitor", rules=[])
    decision = decide([], [Slot(("m",), "hello")], [trial], RequestContext())
    assert decision.block is not None and decision.block.rule == "no-policy"


def test_a_monitored_policys_own_tests_describe_it_once_enforced(detector: DetectionEngine, tmp_path: Path) -> None:
    trial = (
        ALLOW_EVERYTHING
        + "tests:\n  - {name: cards would go out, input: 'Charge 4111 1111 1111 1111', as: {team: qa},"
        + " expect: {decision: allow}}\n"
    )
    results = asyncio.run(run_tests(_load(tmp_path, detector, trial=trial), detector))
    assert [(r.name, r.failures) for r in results if r.policy == "trial"] == [("cards would go out", [])]
