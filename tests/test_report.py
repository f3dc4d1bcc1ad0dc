"""Audit answers without SQL: `privacy-proxy report` and `GET /admin/report` over traffic the
proxy really recorded through the SDK, with a monitored policy on top (#17)."""

from __future__ import annotations

import csv
import json
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from proxy.config import hash_api_key

from .conftest import REPO, RunningProxy, StartProxy
from .stored import invoke

ADMIN_KEY = "pp-admin-key-for-the-report"
SSN = "My social security number is 219-09-9999"
NAME = "Please write to Peter Parker"
PLAIN = "What is the capital of France?"
TRIAL = """
id: ssn-trial
version: 1
mode: monitor
applies_to: {teams: [qa]}
rules:
  - {id: ssn-block, detect: [US_SSN], action: block}
"""


@pytest.fixture(scope="module")
def reported(
    start_proxy: StartProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningProxy, dict[str, str]]]:
    """A proxy on the shipped policies plus a monitored trial, after one request of each kind."""
    tmp = tmp_path_factory.mktemp("report")
    policies = tmp / "policies"
    shutil.copytree(REPO / "policies", policies)
    (policies / "ssn-trial.yaml").write_text(textwrap.dedent(TRIAL))
    overrides: dict[str, Any] = {
        "admin": {"sha256": hash_api_key(ADMIN_KEY)},
        "policies": str(policies),
        "database_url": f"sqlite:///{tmp / 'proxy.db'}",
    }
    with start_proxy(**overrides) as running:
        ids = {}
        for name, text in {"ssn": SSN, "name": NAME, "plain": PLAIN, "card": "Charge 4111 1111 1111 1111"}.items():
            try:
                raw = running.client().chat.completions.with_raw_response.create(
                    model="gpt-4o", messages=[{"role": "user", "content": text}]
                )
                ids[name] = raw.headers["x-proxy-request-id"]
            except openai.BadRequestError as error:
                ids[name] = error.response.headers["x-proxy-request-id"]
            running.record(ids[name])
        yield running, ids


def _report(running: RunningProxy, **params: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {ADMIN_KEY}"}
    return httpx.get(running.url + "/admin/report", params=params, headers=headers, timeout=30)


def test_the_report_finds_every_request_with_an_entity_type_and_what_happened_to_it(
    reported: tuple[RunningProxy, dict[str, str]],
) -> None:
    running, ids = reported
    body = _report(running, entity="US_SSN").json()
    [row] = body["requests"]
    assert row["id"] == ids["ssn"] and row["decision"] == "transform" and row["monitor_decision"] == "block"
    assert row["entities"] == ["US_SSN"] and "default/government-ids" in row["rules"]
    assert "ssn-trial/ssn-block" in row["rules"] and row["findings_count"] == 2  # the monitor finding counts
    assert body["counts"]["requests"] == 1 and body["filters"] == {"entity": "US_SSN"}
    assert "219-09-9999" not in json.dumps(body)
    monitored = _report(running, monitor_decision="block").json()
    assert {r["id"] for r in monitored["requests"]} == {ids["ssn"], ids["card"]}  # the card: blocked anyway


def test_the_report_counts_per_decision_team_entity_and_rule(reported: tuple[RunningProxy, dict[str, str]]) -> None:
    running, _ = reported
    counts = _report(running).json()["counts"]
    assert counts["requests"] == 4
    assert {(d["decision"], d["monitor_decision"]): d["requests"] for d in counts["decisions"]} == {
        ("allow", "allow"): 1,
        ("block", "block"): 1,
        ("transform", "block"): 1,
        ("transform", "transform"): 1,
    }
    assert counts["teams"] == [{"team": "qa", "requests": 4, "blocked": 1}]
    rules = {(r["rule"], r["action"], r["mode"]): r["requests"] for r in counts["rules"]}
    assert rules[("ssn-trial/ssn-block", "block", "monitor")] == 1
    assert rules[("default/payment-cards", "block", "enforce")] == 1
    entities = {(e["entity_type"], e["mode"]): e["requests"] for e in counts["entities"]}
    assert entities[("PERSON", "enforce")] == 1 and entities[("US_SSN", "monitor")] == 1
    by_rule = _report(running, rule="default/contact-details", decision="transform").json()
    assert by_rule["counts"]["requests"] == 1


@pytest.mark.parametrize("params", [{"entitty": "US_SSN"}, {"monitor": "block"}, {"entity": "US_SSN", "colour": "x"}])
def test_an_unknown_filter_is_refused_not_ignored(
    reported: tuple[RunningProxy, dict[str, str]], params: dict[str, str]
) -> None:
    running, _ = reported
    response = _report(running, **params)
    assert response.status_code == 400 and "Unknown query parameter" in response.json()["error"]["message"]
    headers = {"authorization": f"Bearer {ADMIN_KEY}"}
    listed = httpx.get(running.url + "/admin/requests", params=params, headers=headers, timeout=30)
    assert listed.status_code == 400


def test_the_report_as_csv_over_http_and_from_the_command_line(
    reported: tuple[RunningProxy, dict[str, str]], tmp_path: Path
) -> None:
    running, ids = reported
    response = _report(running, format="csv", decision="block")
    rows = list(csv.DictReader(response.text.splitlines()))
    assert [(r["id"], r["decision"], r["entities"]) for r in rows] == [(ids["card"], "block", "CREDIT_CARD")]
    url = running.config.database_url
    printed = invoke(["report", "--entity", "US_SSN", "--format", "csv"], url).output
    assert [r["id"] for r in csv.DictReader(printed.splitlines())] == [ids["ssn"]]
    as_json = json.loads(invoke(["report", "--monitor-decision", "block", "--format", "json"], url).output)
    assert {r["id"] for r in as_json["requests"]} == {ids["ssn"], ids["card"]}
    table = invoke(["report", "--since", "1h"], url).output
    assert "4 requests" in table and "ssn-trial/ssn-block" in table and ids["plain"] in table
