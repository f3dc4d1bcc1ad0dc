"""`requires_context: true` detectors and `allow_phrases` (#17): at `policy check`, in `policy
test`, and live through the OpenAI SDK, since all three go through the one scan."""

from __future__ import annotations

import asyncio
from pathlib import Path

from proxy.detection import DetectionEngine
from proxy.dry_run import run_tests
from proxy.exchange import Finding, Slot
from proxy.policy.bundle import PolicySet
from proxy.policy.checks import check
from proxy.policy.decide import decide
from proxy.policy.loader import load_policies
from proxy.policy.schema import Detector, Policy, RequestContext

from .conftest import StartProxy
from .mock_vendor import MockVendor

POLICY = """\
id: clinic
rules:
  - {id: tickets, detect: [TICKET], action: redact}
  - {id: records, detect: [RECORD_WORD], action: redact}
detectors:
  - entity: TICKET
    patterns: [{regex: 'TCK-\\d{4}', score: 0.9}]
    context: [ticket]
    requires_context: true
    examples: {should_match: ['tickets: TCK-1234'], should_not_match: ['TCK-1234']}
  - entity: RECORD_WORD
    words: [record]
allow_phrases: ["Medical Record"]
tests:
  - name: a ticket number next to its word is redacted
    input: my ticket is TCK-1234
    expect: {decision: transform, forwarded: my ticket is <TICKET>, entities: [TICKET]}
  - name: the same number alone is no finding
    input: call TCK-1234
    expect: {decision: allow, entities: []}
  - name: an allowed phrase is never a finding
    input: attach the medical record please
    expect: {decision: allow, forwarded: attach the medical record please}
"""


def _write(tmp_path: Path, text: str = POLICY) -> Path:
    (tmp_path / "clinic.yaml").write_text(text)
    return tmp_path


def _ticket(context: list[str], requires: bool) -> Detector:
    spec = {"entity": "TICKET", "patterns": [{"regex": r"TCK-\d{4}", "score": 0.9}], "context": context}
    return Detector.model_validate({**spec, "requires_context": requires})


def _found(detector: DetectionEngine, text: str, requires: bool = True) -> list[str]:
    found = asyncio.run(detector.detect([Slot(("m",), text)], {"TICKET"}, [_ticket(["ticket"], requires)]))
    return [text[f.start : f.end] for f in found]


def test_a_detector_that_requires_context_fires_only_with_a_context_word_among_the_five_before(
    detector: DetectionEngine,
) -> None:
    assert _found(detector, "my ticket is number TCK-1234") == ["TCK-1234"]
    assert _found(detector, "tickets: TCK-1234") == ["TCK-1234"]  # any inflection
    assert _found(detector, "TCK-1234") == []
    assert _found(detector, "TCK-1234 ticket") == []  # after it: no
    assert _found(detector, "ticket a b c d e f TCK-1234") == []  # six words before: no
    assert _found(detector, "TCK-1234", requires=False) == ["TCK-1234"]  # without the option it fires alone


def test_check_reports_requires_context_without_context_words_at_its_line(
    detector: DetectionEngine, tmp_path: Path
) -> None:
    broken = POLICY.replace("    context: [ticket]\n", "")
    report = check(_write(tmp_path, broken), detector)
    [error] = report.errors
    assert str(error).startswith(f"{tmp_path / 'clinic.yaml'}:6:")
    assert "detectors[TICKET]" in error.field and "`requires_context: true` needs `context` words" in error.message


def test_check_passes_and_policy_test_runs_the_cases(detector: DetectionEngine, tmp_path: Path) -> None:
    directory = _write(tmp_path)
    report = check(directory, detector)
    assert report.errors == []
    policy_set = load_policies(directory, known_entities=detector.supported_entities())
    results = asyncio.run(run_tests(policy_set, detector))
    assert [(r.passed, r.failures) for r in results] == [(True, [])] * 3


def _decide(policy: Policy, text: str, finding: Finding) -> list[tuple[str, str]]:
    decision = decide([finding], [Slot(("m",), text)], [policy], RequestContext())
    return [(r.action, r.rule) for r in decision.resolutions]


def test_an_allow_phrase_covers_a_finding_inside_it_only_where_it_stands_and_never_a_locked_rule() -> None:
    rules = [{"id": "r", "detect": ["RECORD_WORD"], "action": "redact"}]
    policy = Policy.model_validate({"id": "p", "rules": rules, "allow_phrases": ["medical  record"]})
    text = "the Medical\nRecord is a record"
    inside, outside = Finding(0, 12, 18, "RECORD_WORD", 0.9), Finding(0, 24, 30, "RECORD_WORD", 0.9)
    assert _decide(policy, text, inside) == [("allow", "allow-list")]
    assert _decide(policy, text, outside) == [("redact", "r")]
    assert _decide(policy, "medical records", Finding(0, 8, 14, "RECORD_WORD", 0.9)) == [("redact", "r")]
    locked = Policy.model_validate(
        {"id": "p", "rules": [{**rules[0], "locked": True}], "allow_phrases": ["medical record"]}
    )
    assert _decide(locked, text, inside) == [("redact", "r")]


def test_allow_phrases_are_inherited(detector: DetectionEngine, tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("id: base\nrules: []\nallow_phrases: [medical record]\n")
    (tmp_path / "team.yaml").write_text("id: team\ninherits: base\nallow_phrases: [case file]\n")
    policy_set: PolicySet = load_policies(tmp_path, known_entities=detector.supported_entities())
    assert policy_set.get("team").allow_phrases == ["medical record", "case file"]  # type: ignore[union-attr]


def test_live_through_the_sdk_context_and_allow_phrases_decide_what_the_vendor_receives(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path
) -> None:
    with start_proxy(policies=str(_write(tmp_path))) as running:
        client = running.client()
        sent = {}
        for text in ["my ticket is TCK-1234", "call TCK-1234", "attach the medical record, not the record"]:
            response = client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=[{"role": "user", "content": text}]
            )
            sent[text] = (vendor.last["messages"][0]["content"], response.headers["x-proxy-decision"])
    assert sent == {
        "my ticket is TCK-1234": ("my ticket is <TICKET>", "transform"),
        "call TCK-1234": ("call TCK-1234", "allow"),
        "attach the medical record, not the record": ("attach the medical record, not the <RECORD_WORD>", "transform"),
    }
