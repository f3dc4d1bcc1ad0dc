"""Policy files: validation with file:line:col errors, and the decision rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.exchange import Finding, Slot
from proxy.policy.decide import decide
from proxy.policy.loader import PolicyError, load_policies, load_policy_file
from proxy.policy.schema import Policy, RequestContext

from .conftest import REPO

CONTEXT = RequestContext()

KNOWN = {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "URL"}


def _write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_policies_are_valid(detector: object) -> None:
    policies = load_policies(REPO / "policies", known_entities=detector.supported_entities())  # type: ignore[attr-defined]
    assert sorted(p.label for p in policies.policies) == [
        "default@4",
        "finance@1",
        "healthcare@2",
        "hr@2",
        "research@1",
        "secrets-baseline@1",
    ]


def test_unknown_field_points_at_its_line_with_a_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, "id: p\nrules:\n  - id: r\n    detect: [PERSON]\n    acton: redact\n")
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path, known_entities=KNOWN)
    messages = [str(p) for p in caught.value.problems]
    assert f"{path}:5:5  rules[r].acton: unknown field — did you mean 'action'?" in messages
    assert any(m.startswith(f"{path}:3:5  rules[r].action:") for m in messages)  # required, reported at the rule


def test_unknown_entity_type_is_reported_with_did_you_mean(tmp_path: Path) -> None:
    path = _write(tmp_path, "id: p\nrules:\n  - id: r\n    detect: [PERSON, EMAIL_ADRESS]\n    action: redact\n")
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path, known_entities=KNOWN)
    assert (
        str(caught.value)
        == f"{path}:4:22  rules[r].detect[1]: unknown entity type 'EMAIL_ADRESS' — did you mean 'EMAIL_ADDRESS'?"
    )


def test_custom_detector_entity_counts_as_known(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "id: p\nrules:\n  - id: r\n    detect: [TICKET]\n    action: hash\n"
        "detectors:\n  - entity: TICKET\n    patterns:\n      - regex: 'TCK-\\d+'\n",
    )
    assert load_policy_file(path, known_entities=KNOWN).rules[0].detect == ["TICKET"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id: p\nrules: [\n", ":3:1  not valid YAML: expected the node content"),
        ("id: p\nrules:\n  - id: r\n    detect: [PERSON]\n    action: shred\n", ":5:5  rules[r].action: Input should be"),
        ("id: p\ndetectors:\n  - entity: X\n    patterns:\n      - regex: '(unclosed'\n", ":5:9  detectors[X].patterns[0].regex: not a valid regular expression"),
        ("id: p\nrules:\n  - {id: a, detect: [URL], action: allow}\n  - {id: a, detect: [URL], action: allow}\n", ":4:6  rules[1].id: rule id 'a' is already used on line 3; give each rule its own id"),
        ("id: Bad Id\n", ":1:1  id: String should match pattern"),
    ],
)  # fmt: skip
def test_mistakes_are_reported_with_their_position(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path, known_entities=KNOWN)
    assert any(str(p).startswith(str(path) + expected) for p in caught.value.problems), str(caught.value)


def test_duplicate_policy_ids_across_files_are_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "id: same\n", "a.yaml")
    _write(tmp_path, "id: same\n", "b.yaml")
    with pytest.raises(PolicyError, match="also used by"):
        load_policies(tmp_path)


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no policy files"):
        load_policies(tmp_path)


POLICY = Policy.model_validate(
    {
        "id": "p",
        "settings": {"min_score": 0.5},
        "rules": [
            {"id": "names", "detect": ["PERSON"], "action": "pseudonymize"},
            {"id": "names-strict", "detect": ["PERSON"], "action": "redact", "min_score": 0.9},
            {"id": "mail", "detect": ["EMAIL_ADDRESS"], "action": "mask"},
            {"id": "urls", "detect": ["URL"], "action": "allow"},
            {"id": "cards", "detect": ["CREDIT_CARD"], "action": "block", "message": "No cards."},
        ],
        "allow": ["help@corp.com"],
    }
)


def _decide(text: str, *findings: tuple[str, str, float]) -> list[tuple[str, str, str]]:
    slots = [Slot(("m",), text)]
    found = [Finding(0, text.index(v), text.index(v) + len(v), e, s) for v, e, s in findings]
    decision = decide(found, slots, [POLICY], CONTEXT)
    return [(text[r.finding.start : r.finding.end], r.action, r.rule) for r in decision.resolutions]


def test_when_two_rules_claim_a_span_then_the_stronger_action_wins() -> None:
    assert _decide("Ann", ("Ann", "PERSON", 0.95)) == [("Ann", "redact", "names-strict")]
    assert _decide("Ann", ("Ann", "PERSON", 0.85)) == [("Ann", "pseudonymize", "names")]


def test_when_findings_overlap_then_the_stronger_action_keeps_the_span() -> None:
    text = "mail ann@corp.com"
    assert _decide(text, ("ann@corp.com", "EMAIL_ADDRESS", 1.0), ("corp.com", "URL", 0.5)) == [
        ("ann@corp.com", "mask", "mail")
    ]


def test_when_score_is_below_minimum_then_the_finding_is_ignored() -> None:
    assert _decide("Ann", ("Ann", "PERSON", 0.3)) == []


def test_allow_listed_values_are_allowed_and_recorded() -> None:
    assert _decide("write help@corp.com", ("help@corp.com", "EMAIL_ADDRESS", 1.0)) == [
        ("help@corp.com", "allow", "allow-list")
    ]


def test_block_rule_blocks_the_request_with_its_message() -> None:
    slots = [Slot(("m",), "card 4111111111111111")]
    decision = decide([Finding(0, 5, 21, "CREDIT_CARD", 1.0)], slots, [POLICY], CONTEXT)
    assert decision.kind == "block"
    assert decision.block is not None and (decision.block.rule, decision.block.message) == ("cards", "No cards.")


def test_when_a_stronger_finding_covers_part_of_a_weaker_one_then_the_whole_union_is_transformed() -> None:
    text = "mail ann.bluebird@corp.com"
    slots = [Slot(("m",), text)]
    email = Finding(0, text.index("ann"), len(text), "EMAIL_ADDRESS", 1.0)
    person = Finding(0, text.index("bluebird"), text.index("bluebird") + 8, "PERSON", 0.95)
    [only] = decide([email, person], slots, [POLICY], CONTEXT).resolutions
    assert (only.finding.start, only.finding.end, only.finding.entity_type) == (email.start, email.end, "EMAIL_ADDRESS")
    assert (only.action, only.rule) == ("redact", "names-strict")


def test_an_allow_list_in_one_policy_does_not_relax_another_policys_block() -> None:
    other = Policy.model_validate({"id": "q", "allow": ["4111111111111111"]})
    slots = [Slot(("m",), "4111111111111111")]
    decision = decide([Finding(0, 0, 16, "CREDIT_CARD", 1.0)], slots, [other, POLICY], CONTEXT)
    assert decision.kind == "block"


def test_when_no_policy_applies_then_the_request_is_blocked() -> None:
    decision = decide([], [Slot(("m",), "anything")], [], CONTEXT)
    assert decision.block is not None and decision.block.rule == "no-policy"


def test_a_directory_without_an_active_policy_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "id: a\nstatus: draft\n", "a.yaml")
    with pytest.raises(PolicyError, match="no active policy"):
        load_policies(tmp_path)


def test_a_misspelt_action_is_named_by_the_rule_id_with_the_nearest_valid_one(tmp_path: Path) -> None:
    text = "id: p\nrules:\n  - id: medical-record-numbers\n    detect: [PERSON]\n    action: pseudonymise\n"
    with pytest.raises(PolicyError) as caught:
        load_policy_file(_write(tmp_path, text), known_entities=KNOWN)
    [problem] = caught.value.problems
    assert problem.field == "rules[medical-record-numbers].action" and (problem.line, problem.col) == (5, 5)
    assert problem.message.endswith("— did you mean 'pseudonymize'?")


def test_a_block_message_written_as_a_folded_block_reaches_clients_trimmed(tmp_path: Path) -> None:
    text = "id: p\nrules:\n  - id: r\n    detect: [CREDIT_CARD]\n    action: block\n    message: >\n      No cards.\n"
    policy = load_policy_file(_write(tmp_path, text), known_entities=KNOWN)
    assert policy.rules[0].message == "No cards."
    found = [Finding(0, 0, 4, "CREDIT_CARD", 1.0)]
    block = decide(found, [Slot(("m",), "4111")], [policy], CONTEXT).block
    assert block is not None and block.message == "No cards."
