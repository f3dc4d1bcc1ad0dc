"""`policy check` beyond the schema: slow regexes, detector examples, expired exceptions,
rules that never decide; and `policy test` failing loudly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from proxy import cli
from proxy.config import KeyLimits
from proxy.detection import DetectionEngine
from proxy.policy.checks import KnownTeams, check, is_slow
from proxy.store.database import make_engine, upgrade
from proxy.store.keys import create_key, revoke_key


@pytest.mark.parametrize(
    ("pattern", "slow"),
    [
        (r"(a+)+$", True),
        (r"^(\w+\s?)+$", True),
        (r"(x+x+)+y", True),
        (r"\bEMP-\d{6}\b", False),
        (r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", False),
    ],
)
def test_when_a_pattern_backtracks_catastrophically_then_it_is_reported(pattern: str, slow: bool) -> None:
    assert is_slow(pattern) is slow


POLICY = """\
id: p
rules:
  - {id: redact-ids, detect: [TICKET], action: redact}
  - {id: mask-ids, detect: [TICKET], action: mask}
detectors:
  - entity: TICKET
    patterns:
      - regex: 'TCK-\\d{4}'
      - regex: '(a+)+$'
    examples:
      should_match: ["ticket TCK-1234", "ticket 1234"]
      should_not_match: ["TCK-12"]
exceptions:
  - {id: old, reason: r, approved_by: a, expires: 2020-01-01, entities: [TICKET]}
"""


def test_check_reports_each_problem_at_its_line(detector: DetectionEngine, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(POLICY)
    report = check(tmp_path, detector, today=date(2026, 11, 27))
    path = tmp_path / "p.yaml"
    assert [str(p) for p in report.errors] == [
        f"{path}:9:9  detectors[TICKET].patterns[1].regex: this pattern can take very long on some inputs (catastrophic backtracking); simplify nested repeats",
        f"{path}:11:41  detectors[TICKET].examples.should_match[1]: example is not found by this detector",
    ]
    assert [str(p) for p in report.warnings] == [
        f"{path}:14:42  exceptions[old].expires: exception 'old' expired on 2020-01-01 and no longer applies",
        f"{path}:4:5  rules[mask-ids]: rule 'mask-ids' never decides: rule 'redact-ids' covers the same data with a stronger action",
    ]


def test_policy_test_exits_1_and_shows_the_difference(
    monkeypatch: pytest.MonkeyPatch, detector: DetectionEngine, tmp_path: Path
) -> None:
    (tmp_path / "p.yaml").write_text(
        "id: p\nrules: [{id: n, detect: [PERSON], action: redact}]\n"
        "tests:\n  - name: wrong on purpose\n    input: Peter Parker called\n"
        "    expect: {decision: transform, forwarded: 'Peter Parker called'}\n"
    )
    monkeypatch.setattr(DetectionEngine, "in_process", lambda config: detector)
    result = CliRunner().invoke(cli.main, ["policy", "test", str(tmp_path)])
    assert result.exit_code == 1
    assert "FAIL  p: wrong on purpose" in result.output
    assert "expected: Peter Parker called" in result.output and "actual:   <PERSON> called" in result.output
    assert "0 passed, 1 failed" in result.output


def test_policy_explain_as_a_team_shows_which_policies_apply(
    monkeypatch: pytest.MonkeyPatch, detector: DetectionEngine
) -> None:
    from .conftest import REPO

    monkeypatch.setattr(DetectionEngine, "in_process", lambda config: detector)
    args = [
        "policy",
        "explain",
        "--policies",
        str(REPO / "policies"),
        "--as",
        "team=hr",
        "--text",
        "Welcome Peter Parker",
    ]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    assert "policies: hr@2, secrets-baseline@1" in result.output
    assert "Welcome <PERSON>" in result.output


AUTHORING = {
    "base": "id: base\nrules: [{id: names, detect: [PERSON], action: pseudonymize}]\n",
    "clinical": (
        "id: clinical\ninherits: base\napplies_to: {teams: [clinical, oncology]}\n"
        "rules:\n  - {id: names, detect: [PERSON], action: redact, message: Names are removed.}\n"
    ),
    "oncology": "id: oncology\napplies_to: {teams: [oncology]}\nrules: []\n",
    "old": (
        "id: old\nstatus: retired\nrules: [{id: r, detect: [PERSON], action: block}]\n"
        "tests:\n  - {name: stale, input: Peter Parker, expect: {decision: allow}}\n"
    ),
}


def test_check_warns_about_the_usual_authoring_traps(
    monkeypatch: pytest.MonkeyPatch, detector: DetectionEngine, tmp_path: Path
) -> None:
    for name, text in AUTHORING.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    report = check(tmp_path, detector, teams=KnownTeams({"clinical", "research"}, ("config file keys",)))
    warnings = [f"{p.file.name}:{p.line}  {p.field}: {p.message}" for p in report.warnings]
    assert report.errors == [] and sorted(warnings) == [
        "clinical.yaml:3  applies_to.teams[1]: team 'oncology' matches no proxy key's team (clinical, research; read: config file keys)",
        "clinical.yaml:5  rules[names].message: rule 'names' does not block, so its message is never shown",
        "old.yaml:4  tests: policy 'old' is retired: its 1 tests are skipped",
        "oncology.yaml:2  applies_to.teams: policy 'clinical' also applies to team 'oncology': both are enforced for its requests",
        "oncology.yaml:2  applies_to.teams[0]: team 'oncology' matches no proxy key's team (clinical, research; read: config file keys)",
    ]
    monkeypatch.setattr(DetectionEngine, "in_process", lambda config: detector)
    result = CliRunner().invoke(cli.main, ["policy", "test", str(tmp_path)])
    assert "stale" not in result.output  # a retired policy's tests are skipped


def test_explain_near_misses_shows_a_value_found_below_the_rules_threshold(
    monkeypatch: pytest.MonkeyPatch, detector: DetectionEngine, tmp_path: Path
) -> None:
    (tmp_path / "p.yaml").write_text("id: p\nrules: [{id: ssn, detect: [US_SSN], action: block, min_score: 0.9}]\n")
    monkeypatch.setattr(DetectionEngine, "in_process", lambda config: detector)
    text = "My social security number is 219-09-9999"
    args = ["policy", "explain", "--policies", str(tmp_path), "--text", text, "--near-misses"]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    assert "decision: allow" in result.output
    [miss] = [line for line in result.output.splitlines() if "US_SSN" in line]
    assert "score=0.85  needs 0.90" in miss and "219-09-9999" not in miss
    plain = CliRunner().invoke(cli.main, args[:-1])
    assert "near misses" not in plain.output


def test_an_example_found_below_the_rules_min_score_fails_check_since_it_would_not_fire_live(
    detector: DetectionEngine, tmp_path: Path
) -> None:
    (tmp_path / "p.yaml").write_text(
        "id: p\nrules: [{id: t, detect: [TICKET], action: redact, min_score: 0.5}]\n"
        "detectors:\n  - entity: TICKET\n    patterns: [{regex: 'TCK-\\d{4}', score: 0.3}]\n"
        "    examples: {should_match: ['TCK-1234'], should_not_match: ['TCK-12']}\n"
    )
    report = check(tmp_path, detector)
    assert [f"{p.field}: {p.message}" for p in report.errors] == [
        "detectors[TICKET].examples.should_match[0]: example is found with score 0.30, below the min_score 0.50 its rules need"
    ]


def test_policy_entities_lists_groups_with_members_and_each_policys_detectors(
    monkeypatch: pytest.MonkeyPatch, detector: DetectionEngine, tmp_path: Path
) -> None:
    (tmp_path / "p.yaml").write_text(
        "id: p\nrules: [{id: t, detect: [TICKET], action: redact}]\n"
        "detectors:\n  - entity: TICKET\n    patterns: [{regex: 'TCK-\\d{4}'}]\n"
    )
    monkeypatch.setattr(DetectionEngine, "in_process", lambda config: detector)
    result = CliRunner().invoke(cli.main, ["policy", "entities", "--policies", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "PERSON" in lines and "  group:contact: PERSON, EMAIL_ADDRESS, PHONE_NUMBER, PERSONAL_URL" in lines
    assert lines[-1] == "  p: TICKET"


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("ticket TCK-1234", 0.65),
        ("my ticket is number TCK-1234", 0.65),
        ("tickets: TCK-1234", 0.65),
        ("TCK-1234", 0.3),
        ("TCK-1234 ticket", 0.3),
        ("ticket a b c d e f TCK-1234", 0.3),
    ],
)
def test_when_a_context_word_is_among_the_five_words_before_then_the_score_rises_as_documented(
    detector: DetectionEngine, text: str, score: float
) -> None:
    """The table in policies/README.md ("Context words: how near, how much")."""
    import asyncio

    from proxy.exchange import Slot
    from proxy.policy.schema import Detector

    spec = Detector.model_validate(
        {"entity": "TICKET", "patterns": [{"regex": r"TCK-\d{4}", "score": 0.3}], "context": ["ticket"]}
    )
    [finding] = asyncio.run(detector.detect([Slot(("m",), text)], {"TICKET"}, [spec]))
    assert round(finding.score, 2) == score


def test_check_knows_the_teams_of_keys_stored_in_the_database_and_says_what_it_read(
    monkeypatch: pytest.MonkeyPatch, detector: DetectionEngine, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "wards.yaml").write_text(
        "id: wards\napplies_to: {teams: [clinical, oncology, radiology]}\n"
        "rules: [{id: names, detect: [PERSON], action: redact}]\n"
    )
    database = tmp_path / "proxy.db"
    config = tmp_path / "proxy.yaml"
    config.write_text(
        f"database_url: sqlite:///{database}\nkeys:\n  - {{name: ward-7, team: clinical, sha256: '{'a' * 64}'}}\n"
    )
    monkeypatch.setattr(DetectionEngine, "in_process", lambda config: detector)
    monkeypatch.delenv("DATABASE_URL", raising=False)

    def warnings() -> list[str]:
        result = CliRunner().invoke(cli.main, ["policy", "check", str(policies), "--config", str(config)])
        assert result.exit_code == 0, result.output
        return [line for line in result.output.splitlines() if "matches no proxy key" in line]

    [unreachable_oncology, unreachable_radiology] = warnings()  # no database file yet: not created either
    assert not database.exists()
    assert unreachable_oncology.endswith(
        "team 'oncology' matches no proxy key's team (clinical; read: config file keys;"
        " not read: database keys (the configured database is unreachable, or not migrated))"
    )
    upgrade(f"sqlite:///{database}")
    engine = make_engine(f"sqlite:///{database}")
    create_key(engine, "tumour-board", "oncology", KeyLimits())  # what the admin API's POST /admin/keys stores
    create_key(engine, "old-scanner", "radiology", KeyLimits())
    revoke_key(engine, "old-scanner")  # a revoked key's team is no longer served
    engine.dispose()
    [radiology] = warnings()
    assert radiology.endswith(
        "team 'radiology' matches no proxy key's team (clinical, oncology; read: config file keys, database keys)"
    )
