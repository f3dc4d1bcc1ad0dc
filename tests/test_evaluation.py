"""The evaluation set and its scorer: gold offsets are exact, the set regenerates byte for byte,
and `privacy-proxy eval` scores a slice through the real pipeline."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from unittest.mock import patch

from click.testing import CliRunner

from proxy.cli import main
from proxy.detection import DetectionEngine
from proxy.dry_run import dry_run
from proxy.evaluation.cases import GENERATED, SEALED, SETS, Case, Span, bad_spans, dump_cases, load_cases
from proxy.evaluation.command import GENERIC_TYPES, default_sets, detection_only_policies
from proxy.evaluation.generate import generate
from proxy.evaluation.score import score_case
from proxy.exchange import BlockReason, Decision, Slot
from proxy.policy.loader import load_policies
from proxy.policy.schema import RequestContext
from proxy.scan import Scan

from .conftest import REPO


def test_every_gold_span_cuts_out_exactly_its_value() -> None:
    cases = load_cases()
    assert len(cases) >= 500
    assert [problem for case in cases for problem in bad_spans(case)] == []


def test_the_set_covers_every_kind_of_prompt_and_has_hard_negatives() -> None:
    cases = load_cases()
    categories = Counter(c.category for c in cases)
    assert len(categories) >= 10 and min(categories.values()) >= 20
    assert sum(c.hard_negative for c in cases) >= 50
    assert len({c.locale for c in cases}) >= 10


def test_regenerating_writes_the_identical_file() -> None:
    assert dump_cases(generate()) == GENERATED.read_text()


def test_the_set_is_the_same_on_any_day_and_under_any_hash_seed() -> None:
    """Faker counts birth dates back from today: the set must not move with the calendar (#22)."""
    a_year_ahead = f"""
import sys, time_machine
from proxy.evaluation.generate import generate
from proxy.evaluation.cases import dump_cases
with time_machine.travel({time.time() + 366 * 86400}, tick=False):
    sys.stdout.write(dump_cases(generate()))
"""
    environment = {**os.environ, "PYTHONHASHSEED": "4242", "TZ": "Pacific/Kiritimati"}
    regenerated = subprocess.run(
        [sys.executable, "-c", a_year_ahead], env=environment, capture_output=True, text=True, check=True
    )
    assert regenerated.stdout == GENERATED.read_text()


def test_a_wrong_offset_is_reported() -> None:
    case = Case(
        id="x",
        category="support",
        body={"messages": [{"role": "user", "content": "mail ada@math.org"}]},
        spans=[Span(message=0, start=4, end=16, type="EMAIL_ADDRESS", value="ada@math.org")],
    )
    assert bad_spans(case) == ["x: message 0 [4:16] is not 'ada@math.org'"]


def _case(text: str, *spans: tuple[str, str]) -> Case:
    return Case(
        id="t",
        category="support",
        hard_negative=not spans,
        body={"model": "gpt-4o", "messages": [{"role": "user", "content": text}]},
        spans=[Span(message=0, start=text.index(v), end=text.index(v) + len(v), type=t, value=v) for t, v in spans],
    )


def _score(detector: DetectionEngine, case: Case):  # type: ignore[no-untyped-def]
    policy_set = load_policies(REPO / "policies", known_entities=detector.supported_entities())
    run = asyncio.run(dry_run(case.body, policy_set, detector, RequestContext()))
    return score_case(case, run)


def test_a_value_the_vendor_would_still_read_is_a_leak_and_a_replaced_one_is_not(detector: DetectionEngine) -> None:
    score = _score(detector, _case("Ask Peter Parker about version 2.3.1, ticket EMP-X", ("PERSON", "Peter Parker")))
    assert score.leaked == [] and score.altered_words == 0
    unknown = _case("the locker code is QX-99-ZZ", ("EMPLOYEE_ID", "QX-99-ZZ"))
    assert [s.value for s in _score(detector, unknown).leaked] == ["QX-99-ZZ"]


def test_a_changed_hard_negative_is_counted(detector: DetectionEngine) -> None:
    score = _score(detector, _case("mail ada@math.org about the release"))
    assert score.changed and score.altered_words == 3  # ada, math, org


def test_eval_command_prints_tables_and_json_for_a_slice() -> None:
    result = CliRunner().invoke(main, ["eval", "--set", "generated", "--limit", "12", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["mode"] == "policies" and list(payload["sets"]) == ["generated"]
    report = payload["sets"]["generated"]
    assert report["total"]["cases"] == 12
    assert report["cases_in_set"] >= 500
    assert len(report["by_category"]) == 10
    assert set(report["targets"]) == {"structured_leak", "free_text_leak", "over_redaction", "negatives_untouched"}


def test_eval_reports_each_set_on_its_own_and_leaves_the_holdout_out_unless_named() -> None:
    result = CliRunner().invoke(main, ["eval", "--limit", "4", "--summary"])
    assert result.exit_code == 0, result.output
    rows = [line.split()[0] for line in result.output.splitlines()[1:] if line.strip()]
    assert (
        sorted(rows) == sorted(default_sets()) and not SEALED & set(rows) and {"generated", "handwritten"} <= set(rows)
    )


def test_the_holdout_sets_misses_are_never_listed(tmp_path: Path) -> None:
    sealed = tmp_path / "sealed.yaml"
    sealed.write_text(
        "- {id: s1, category: support, text: 'write to Zbigniew Wrobel', spans: [{type: PERSON, value: Zbigniew}]}\n"
    )
    for name in sorted(SEALED):
        with patch.dict(SETS, {name: sealed}):
            result = CliRunner().invoke(main, ["eval", "--set", name, "--show-misses", "--detection-only"])
        assert result.exit_code == 0, result.output
        assert "never listed" in result.output and "Zbigniew" not in result.output


def test_detection_only_pseudonymizes_every_known_type_and_blocks_nothing(detector: DetectionEngine) -> None:
    policy_set = detection_only_policies(detector.supported_entities())
    (rule,) = policy_set.policies[0].rules
    assert rule.action == "pseudonymize" and set(rule.detect) == detector.supported_entities() - GENERIC_TYPES
    assert {"PERSON", "DATE_OF_BIRTH", "PASSWORD_ASSIGNMENT"} <= set(rule.detect) and "DATE_TIME" not in rule.detect
    card = _case("charge 4111 1111 1111 1111 today", ("CREDIT_CARD", "4111 1111 1111 1111"))
    run = asyncio.run(dry_run(card.body, policy_set, detector, RequestContext()))
    assert run.forwarded is not None and score_case(card, run).leaked == []


def test_eval_command_says_a_slice_is_too_small_to_judge_the_targets_by() -> None:
    result = CliRunner().invoke(main, ["eval", "--category", "hard_negative", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "this slice of 3 is only a smoke run" in result.output
    assert "targets (default policy):" not in result.output


def _sent(case: Case, forwarded_text: str, block: bool = False) -> Scan:
    """What the scorer sees when the vendor would receive `forwarded_text` (or nothing, if blocked)."""
    reason = BlockReason(rule="r", policy="p", entity_type="X", message="m") if block else None
    body = {**case.body, "messages": [{"role": "user", "content": forwarded_text}]}
    slots = [Slot(("messages", 0, "content"), case.text(0))]
    return Scan("request", [], slots, decision=Decision(block=reason), forwarded=None if block else body)


def test_a_surname_left_beside_a_replaced_first_name_is_a_leak() -> None:
    case = _case("Write to Anna Kowalski today", ("PERSON", "Anna Kowalski"))
    assert score_case(case, _sent(case, "Write to <PERSON_1> Kowalski today")).leaked == case.spans
    assert score_case(case, _sent(case, "Write to <PERSON_1> today")).leaked == []


def test_a_number_sent_with_other_separators_is_a_leak_and_a_blocked_request_leaks_nothing() -> None:
    case = _case("Call +49 30 1234567 now", ("PHONE_NUMBER", "+49 30 1234567"))
    assert score_case(case, _sent(case, "Call +49-30-1234567 now")).leaked == case.spans
    assert score_case(case, _sent(case, "Call +49 30 1234567 now", block=True)).leaked == []
