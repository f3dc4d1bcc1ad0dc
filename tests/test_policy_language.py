"""The policy language end to end: scoping, inheritance, locked rules, exceptions, monitor mode,
min_count, request-level rules, settings and response rules — through the real proxy."""

from __future__ import annotations

import asyncio
import json
import shutil
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import openai
import pytest
import time_machine

from proxy.detection import DetectionEngine
from proxy.dry_run import run_tests
from proxy.exchange import Finding, Slot
from proxy.policy.decide import decide
from proxy.policy.loader import PolicyError, load_policies
from proxy.policy.schema import Policy, RequestContext

from .conftest import PROXY_KEY, REPO, RunningProxy, StartProxy
from .mock_vendor import MockVendor

BASE = """
id: base
rules:
  - {id: contact, detect: [PERSON, EMAIL_ADDRESS], action: pseudonymize}
  - {id: cards, detect: [CREDIT_CARD], action: block, locked: true}
"""

OPEN = "id: open\nrules: []\n"  # an enforced policy that lets everything through: a trial runs on top of it


def _policies(tmp_path: Path, **files: str) -> Path:
    directory = tmp_path / "policies"
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(textwrap.dedent(text))
    return directory


def _chat(running: RunningProxy, content: str, model: str = "gpt-4o", **kwargs: object) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": content}], **kwargs}
    headers = {"authorization": f"Bearer {PROXY_KEY}"}
    return httpx.post(running.url + "/v1/chat/completions", json=body, headers=headers, timeout=30)


def test_shipped_policy_tests_all_pass(detector: DetectionEngine) -> None:
    policy_set = load_policies(REPO / "policies", known_entities=detector.supported_entities())
    results = asyncio.run(run_tests(policy_set, detector))
    assert len(results) >= 10
    assert [(r.policy, r.name, r.failures) for r in results if not r.passed] == []


def test_shipped_policy_tests_pass_on_any_day_and_an_unpinned_expiring_case_would_not(
    detector: DetectionEngine, tmp_path: Path
) -> None:
    """A case relying on an exception pins its day with `today:` (#22); without it, it fails after `expires`."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    research = tmp_path / "policies" / "team-research.yaml"
    with time_machine.travel(datetime(2031, 1, 1, tzinfo=UTC), tick=False):
        pinned = load_policies(tmp_path / "policies", known_entities=detector.supported_entities())
        assert [r.failures for r in asyncio.run(run_tests(pinned, detector)) if not r.passed] == []
        research.write_text("\n".join(line for line in research.read_text().splitlines() if " today: " not in line))
        unpinned = load_policies(tmp_path / "policies", known_entities=detector.supported_entities())
        failed = [r.name for r in asyncio.run(run_tests(unpinned, detector)) if not r.passed]
    assert failed == ["cited authors keep their names under the exception"]


def test_applies_to_selects_by_team_and_a_child_replaces_its_parent(detector: DetectionEngine, tmp_path: Path) -> None:
    child = "id: hr\ninherits: base\napplies_to: {teams: [hr*]}\nrules:\n  - {id: contact, detect: [PERSON], action: redact}\n"
    other = "id: eu\napplies_to: {upstreams: [mistral]}\nrules: []\n"
    policy_set = load_policies(
        _policies(tmp_path, base=BASE, hr=child, eu=other), known_entities=detector.supported_entities()
    )
    assert [p.id for p in policy_set.select(RequestContext(team="sales"))] == ["base"]
    assert [p.id for p in policy_set.select(RequestContext(team="hr-emea"))] == ["hr"]
    assert [p.id for p in policy_set.select(RequestContext(team="hr", upstream="mistral"))] == ["eu", "hr"]
    hr = policy_set.get("hr")
    assert hr is not None and {r.id: r.action for r in hr.rules} == {"contact": "redact", "cards": "block"}


def test_a_child_cannot_relax_a_locked_rule(detector: DetectionEngine, tmp_path: Path) -> None:
    child = "id: lax\ninherits: base\nrules:\n  - {id: cards, detect: [CREDIT_CARD], action: mask}\n"
    directory = _policies(tmp_path, base=BASE, lax=child)
    with pytest.raises(PolicyError) as caught:
        load_policies(directory, known_entities=detector.supported_entities())
    assert str(caught.value) == (
        f"{directory / 'lax.yaml'}:4:5  rules[cards]: rule 'cards' is locked in policy 'base': this override weakens the action to 'mask'"
    )


def test_inheriting_an_unknown_policy_suggests_the_right_one(detector: DetectionEngine, tmp_path: Path) -> None:
    directory = _policies(tmp_path, base=BASE, child="id: child\ninherits: bsae\n")
    with pytest.raises(PolicyError, match="no policy with id 'bsae' — did you mean 'base'"):
        load_policies(directory, known_entities=detector.supported_entities())


EXCEPTION_POLICY = Policy.model_validate(
    {
        "id": "p",
        "rules": [
            {"id": "names", "detect": ["PERSON"], "action": "redact"},
            {"id": "cards", "detect": ["CREDIT_CARD"], "action": "block", "locked": True},
        ],
        "exceptions": [
            {"id": "authors", "reason": "public", "approved_by": "dpo", "expires": "2027-01-31",
             "entities": ["PERSON", "CREDIT_CARD"], "allow_values": ["Alan Turing", "4111111111111111"],
             "applies_to": {"teams": ["research"]}},
        ],
    }
)  # fmt: skip


def _actions(text: str, finding: Finding, today: date, team: str = "research") -> list[tuple[str, str]]:
    decision = decide([finding], [Slot(("m",), text)], [EXCEPTION_POLICY], RequestContext(team=team), today=today)
    return [(r.action, r.rule) for r in decision.resolutions]


def test_an_exception_applies_until_it_expires_and_only_in_its_scope() -> None:
    turing = Finding(0, 0, 11, "PERSON", 0.9)
    assert _actions("Alan Turing", turing, date(2027, 1, 31)) == [("allow", "exception:authors")]
    assert _actions("Alan Turing", turing, date(2027, 2, 1)) == [("redact", "names")]
    assert _actions("Alan Turing", turing, date(2026, 12, 1), team="sales") == [("redact", "names")]
    assert _actions("Ada Lovelace", Finding(0, 0, 12, "PERSON", 0.9), date(2026, 12, 1)) == [("redact", "names")]


def test_an_exception_cannot_relax_a_locked_rule() -> None:
    card = Finding(0, 0, 16, "CREDIT_CARD", 1.0)
    assert _actions("4111111111111111", card, date(2026, 12, 1)) == [("block", "cards")]


def test_min_count_applies_a_rule_only_from_that_many_findings() -> None:
    policy = Policy.model_validate(
        {"id": "p", "rules": [{"id": "bulk", "detect": ["EMAIL_ADDRESS"], "action": "block", "min_count": 3}]}
    )
    text = "a@x.io b@x.io c@x.io"
    findings = [Finding(0, i * 7, i * 7 + 6, "EMAIL_ADDRESS", 1.0) for i in range(3)]
    assert decide(findings[:2], [Slot(("m",), text)], [policy], RequestContext()).kind == "allow"
    assert decide(findings, [Slot(("m",), text)], [policy], RequestContext()).kind == "block"


def test_monitor_mode_leaves_traffic_untouched_and_records_what_would_have_happened(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path
) -> None:
    trial = """
    id: trial
    mode: monitor
    rules:
      - {id: names, detect: [PERSON], action: redact}
      - {id: cards, detect: [CREDIT_CARD], action: block}
    """
    with start_proxy(policies=str(_policies(tmp_path, open=OPEN, trial=trial))) as running:
        response = _chat(running, "Peter Parker paid with 4111 1111 1111 1111")
        record = running.record(response.headers["x-proxy-request-id"])
    assert response.status_code == 200 and response.headers["x-proxy-decision"] == "allow"
    assert vendor.last["messages"][0]["content"] == "Peter Parker paid with 4111 1111 1111 1111"
    assert record.request["decision"] == "allow" and record.request["monitor_decision"] == "block"
    assert {(f["entity_type"], f["action"], f["mode"]) for f in record.findings} == {
        ("PERSON", "redact", "monitor"),
        ("CREDIT_CARD", "block", "monitor"),
    }


def test_request_level_rules_block_models_vendors_phrases_and_size(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path
) -> None:
    rules = """
    id: gate
    request:
      allowed_models: ["gpt-4o*"]
      denied_models: ["gpt-4o-preview"]
      deny_phrases: ["Attorney-Client Privileged"]
      max_prompt_chars: 100
    rules: []
    """
    with start_proxy(policies=str(_policies(tmp_path, gate=rules))) as running:
        cases = {
            "request.allowed_models": _chat(running, "hi", model="gpt-3.5-turbo"),
            "request.denied_models": _chat(running, "hi", model="gpt-4o-preview"),
            "request.deny_phrases": _chat(running, "this memo is attorney-client privileged"),
            "request.max_prompt_chars": _chat(running, "x" * 101),
        }
        assert _chat(running, "hi", model="gpt-4o-mini").status_code == 200
    for rule, response in cases.items():
        assert response.status_code == 400 and response.json()["error"]["type"] == "policy_violation", rule
        assert running.record(response.headers["x-proxy-request-id"]).status == "blocked"
    assert len(vendor.received) == 1


IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


@pytest.mark.parametrize("setting", ["block", "strip", "allow"])
def test_unscannable_parts_are_blocked_stripped_or_allowed(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path, setting: str
) -> None:
    policy = f"id: media\nsettings: {{unscannable_parts: {setting}}}\nrules: []\n"
    with start_proxy(policies=str(_policies(tmp_path, media=policy))) as running:
        response = _chat(running, [{"type": "text", "text": "what is this?"}, IMAGE])  # type: ignore[arg-type]
    if setting == "block":
        assert response.status_code == 400 and vendor.received == []
        return
    assert response.status_code == 200
    parts = vendor.last["messages"][0]["content"]
    assert parts == ([{"type": "text", "text": "what is this?"}] if setting == "strip" else [parts[0], IMAGE])


def test_max_scan_chars_refuses_before_scanning(start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path) -> None:
    policy = "id: small\nsettings: {max_scan_chars: 50}\nrules: [{id: n, detect: [PERSON], action: redact}]\n"
    with start_proxy(policies=str(_policies(tmp_path, small=policy))) as running:
        response = _chat(running, "y" * 51)
    assert response.status_code == 413 and "at most 50 are scanned" in response.text
    error = response.json()["error"]
    assert error["code"] == "too_much_text" and "settings.max_scan_chars in policy small" in error["message"]
    assert vendor.received == []


def test_on_detector_error_allow_forwards_unscanned_only_when_every_policy_says_so(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lenient = "id: lenient\nsettings: {on_detector_error: allow}\nrules: [{id: n, detect: [PERSON], action: redact}]\n"
    with start_proxy(policies=str(_policies(tmp_path, lenient=lenient))) as running:
        monkeypatch.setattr(running.services.detector, "detect_sync", lambda *_: 1 / 0)
        response = _chat(running, "hello Peter Parker")
        record = running.record(response.headers["x-proxy-request-id"])
    assert response.status_code == 200 and vendor.last["messages"][0]["content"] == "hello Peter Parker"
    assert record.request["error"].startswith("detection failed; forwarded unscanned")


RESPONSE_POLICY = """
id: answers
rules:
  - {id: contact, detect: [PERSON], action: pseudonymize}
  - {id: no-phone-numbers-in-answers, detect: [PHONE_NUMBER], action: mask, keep_last: 2, min_score: 0.3, directions: [response]}
"""


@pytest.mark.parametrize("stream", [False, True])
def test_a_response_rule_masks_what_the_model_wrote(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path, stream: bool
) -> None:
    vendor.script.reply = "Sure. Call <PERSON_1> on +1 415 555 0132 today.\nBye."
    vendor.script.chunk_chars = 4
    with start_proxy(policies=str(_policies(tmp_path, answers=RESPONSE_POLICY))) as running:
        client = running.client()
        messages = [{"role": "user", "content": "How do I reach Peter Parker?"}]
        if stream:
            chunks = client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)  # type: ignore[arg-type]
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            text = client.chat.completions.create(model="gpt-4o", messages=messages).choices[0].message.content or ""  # type: ignore[arg-type]
    assert text == "Sure. Call Peter Parker on +* *** *** **32 today.\nBye."


def test_a_reload_with_a_bad_edit_keeps_the_last_good_set(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path
) -> None:
    directory = _policies(tmp_path, base=BASE)
    with start_proxy(policies=str(directory)) as running:
        watcher = running.services.watcher
        assert watcher is not None
        (directory / "base.yaml").write_text(
            BASE.replace("id: base", "id: base\nversion: 2").replace("pseudonymize", "redact")
        )
        assert watcher.reload()
        assert _chat(running, "hi Peter Parker").headers["x-proxy-policy"] == "base@2"
        assert vendor.last["messages"][0]["content"] == "hi <PERSON>"
        (directory / "base.yaml").write_text("id: base\nrules:\n  - {id: x, detect: [PERSN], action: redact}\n")
        assert not watcher.reload()
        response = _chat(running, "hi Peter Parker")
        ready = httpx.get(running.url + "/readyz").json()
        metrics = httpx.get(running.url + "/metrics").text
    assert response.headers["x-proxy-policy"] == "base@2" and vendor.last["messages"][0]["content"] == "hi <PERSON>"
    assert ready["policy_reload_failures"] == 1 and ready["policy_reloads"] == 1
    assert 'privacy_proxy_policy_reloads_total{result="failed"} 1.0' in metrics


def test_group_secrets_blocks_credentials(proxy: RunningProxy, vendor: MockVendor) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        proxy.client().chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "token: ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"}]
        )
    assert (
        "ghp_" not in caught.value.response.text
        and json.loads(caught.value.response.text)["error"]["code"] == "policy_violation"
    )
    assert vendor.received == []


def _load(tmp_path: Path, detector: DetectionEngine, **files: str) -> object:
    return load_policies(_policies(tmp_path, **files), known_entities=detector.supported_entities())


@pytest.mark.parametrize(
    ("child", "reason"),
    [
        ("rules:\n  - {id: cards, detect: [CREDIT_CARD], action: block, min_score: 0.9}\n", "raises min_score"),
        (
            "rules:\n  - {id: cards, detect: [CREDIT_CARD], action: block, mode: monitor}\n",
            "switches it to monitor mode",
        ),
        ("rules:\n  - {id: cards, detect: [PERSON], action: block}\n", "covers fewer kinds of data"),
    ],
)
def test_every_way_of_relaxing_a_locked_rule_is_refused(
    detector: DetectionEngine, tmp_path: Path, child: str, reason: str
) -> None:
    with pytest.raises(PolicyError, match=reason):
        _load(tmp_path, detector, base=BASE, child="id: child\ninherits: base\n" + child)


def test_neither_an_allow_list_nor_a_monitor_child_nor_child_settings_relax_a_locked_rule(
    detector: DetectionEngine, tmp_path: Path
) -> None:
    child = "id: child\ninherits: base\nmode: monitor\nsettings: {min_score: 0.9}\nallow: ['4111111111111111']\n"
    policy_set = _load(tmp_path, detector, base=BASE, child=child)
    in_force = policy_set.select(RequestContext())
    assert [p.id for p in in_force] == ["base", "child"]  # a monitored child never replaces its parent
    for text, entity, kind in [("4111111111111111", "CREDIT_CARD", "block"), ("Peter Parker", "PERSON", "transform")]:
        decision = decide([Finding(0, 0, len(text), entity, 0.55)], [Slot(("m",), text)], in_force, RequestContext())
        assert decision.kind == kind


def test_child_settings_override_only_what_they_name(detector: DetectionEngine, tmp_path: Path) -> None:
    base = BASE.replace("id: base", "id: base\nsettings: {unscannable_parts: block, max_scan_chars: 1000}")
    policy_set = _load(tmp_path, detector, base=base, child="id: child\ninherits: base\nsettings: {min_score: 0.7}\n")
    settings = policy_set.get("child").settings  # type: ignore[attr-defined]
    assert (settings.min_score, settings.unscannable_parts, settings.max_scan_chars) == (0.7, "block", 1000)


def test_a_child_may_narrow_but_not_widen_allowed_models(detector: DetectionEngine, tmp_path: Path) -> None:
    base = BASE.replace("id: base", "id: base\nrequest: {allowed_models: ['gpt-4o*']}")
    _load(
        tmp_path, detector, base=base, narrow="id: narrow\ninherits: base\nrequest: {allowed_models: [gpt-4o-mini]}\n"
    )
    with pytest.raises(PolicyError, match="a child may only narrow the list"):
        _load(
            tmp_path, detector, base=base, narrow="id: narrow\ninherits: base\nrequest: {allowed_models: ['gpt-*']}\n"
        )


def test_a_key_given_twice_is_an_error_not_a_silent_override(detector: DetectionEngine, tmp_path: Path) -> None:
    text = "id: p\nrules:\n  - id: cards\n    detect: [CREDIT_CARD]\n    action: block\n    action: allow\n"
    with pytest.raises(PolicyError, match=r"p.yaml:6:5  rules\[cards\]\.action: this key appears twice here"):
        _load(tmp_path, detector, p=text)


def test_a_detector_must_be_defined_in_the_policy_or_its_ancestors(detector: DetectionEngine, tmp_path: Path) -> None:
    other = "id: other\ndetectors: [{entity: TICKET, patterns: [{regex: 'T-\\d+'}]}]\nrules: []\n"
    user = "id: user\nrules: [{id: t, detect: [TICKET], action: redact}]\n"
    with pytest.raises(PolicyError, match="unknown entity type 'TICKET'"):
        _load(tmp_path, detector, other=other, user=user)


@pytest.mark.parametrize(
    "bad", ["id: base\nexceptions: [{id: x, reason: r, approved_by: a, expires: 2027-02-30}]\n", b"id: caf\xe9\n"]
)
def test_a_reload_survives_any_bad_file(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path, bad: str | bytes
) -> None:
    directory = _policies(tmp_path, base=BASE)
    with start_proxy(policies=str(directory)) as running:
        watcher = running.services.watcher
        assert watcher is not None
        (directory / "base.yaml").write_bytes(bad if isinstance(bad, bytes) else bad.encode())
        assert not watcher.reload()
        response = _chat(running, "hi Peter Parker")
    assert response.status_code == 200 and vendor.last["messages"][0]["content"] == "hi <PERSON_1>"
    assert running.record(response.headers["x-proxy-request-id"]).status == "ok"


def test_a_monitor_policy_does_not_enforce_its_settings(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path
) -> None:
    policy = "id: trial\nmode: monitor\nsettings: {max_scan_chars: 10, unscannable_parts: block}\nrules: []\n"
    with start_proxy(policies=str(_policies(tmp_path, open=OPEN, trial=policy))) as running:
        response = _chat(running, [{"type": "text", "text": "a long enough text"}, IMAGE])  # type: ignore[arg-type]
    assert response.status_code == 200
