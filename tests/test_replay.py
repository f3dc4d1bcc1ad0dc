"""`privacy-proxy policy replay`: a draft policy set over traffic the proxy really recorded (#17)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bench.seed_store import seed
from proxy.cli import main
from proxy.detection import DetectionEngine
from proxy.detection.gathered import Specs
from proxy.dry_run import dry_run
from proxy.exchange import Finding, Slot
from proxy.governance import replay as replay_module
from proxy.policy.loader import load_policies
from proxy.scan import Scan
from proxy.store.audit import audit_rows
from proxy.store.database import make_engine, upgrade
from proxy.store.tables import payloads

from .conftest import REPO, RunningProxy, StartProxy
from .mock_vendor import MockVendor
from .stored import SEALER, invoke, write_records

TEXTS = [
    "Please write to Peter Parker at peter@dailybugle.com",  # transform today, block under the draft
    "Tell them to mail support@example.com",  # allow, and still allow
    "Charge 4111 1111 1111 1111 for the order",  # blocked today: its text is not kept, so not replayed
]


@pytest.fixture
def recorded(start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path) -> Iterator[tuple[RunningProxy, list[str]]]:
    """A proxy on the shipped policies that served `TEXTS` (through the OpenAI SDK) and recorded them."""
    with start_proxy(database_url=f"sqlite:///{tmp_path / 'proxy.db'}") as running:
        ids = []
        for text in TEXTS:
            client = running.client()
            try:
                raw = client.chat.completions.with_raw_response.create(
                    model="gpt-4o", messages=[{"role": "user", "content": text}]
                )
                ids.append(raw.headers["x-proxy-request-id"])
            except Exception as error:  # the card is blocked
                ids.append(error.response.headers["x-proxy-request-id"])  # type: ignore[attr-defined]
        for request_id in ids:
            running.record(request_id)
        yield running, ids


def _draft(tmp_path: Path) -> Path:
    """The shipped policies with names and e-mail addresses blocked instead of pseudonymized."""
    draft = tmp_path / "draft"
    shutil.copytree(REPO / "policies", draft)
    default = draft / "default.yaml"
    text = default.read_text()
    assert text.index("action: pseudonymize") > text.index("id: contact-details")  # its first rule's action
    default.write_text(text.replace("action: pseudonymize", "action: block", 1))
    return draft


def test_replay_reports_what_a_draft_would_change_by_decision_and_rule_without_a_value(
    recorded: tuple[RunningProxy, list[str]], tmp_path: Path
) -> None:
    running, ids = recorded
    url = running.config.database_url
    with running.services.recorder.engine.connect() as connection:
        encodings = set(connection.execute(select(payloads.c.encoding).where(payloads.c.kind == "original")).scalars())
    assert encodings == {"zlib+aesgcm"}  # the originals are sealed: replay opens them with the data key
    out = tmp_path / "changed.csv"
    draft = str(_draft(tmp_path))
    args = ["policy", "replay", draft, "--since", "1h", "--csv", str(out), "--json", "--processes", "1"]
    result = invoke(args, url)  # in a detection process, as by default
    report = json.loads(result.output)
    assert (report["replayed"], report["changed"]) == (2, 1)
    assert report["skipped"] == {"original not kept (capture, erasure or a blocked request)": 1}
    assert {(d["from"], d["to"], d["requests"]) for d in report["decisions"]} == {
        ("transform", "block", 1),
        ("allow", "allow", 1),
    }
    assert {
        "rule": "contact-details",
        "entity_type": "PERSON",
        "from": "pseudonymize",
        "to": "block",
        "requests": 1,
    } in (report["rules"])
    [example] = report["examples"]
    assert example["texts"] == ["Please write to <PERSON> at <EMAIL_ADDRESS>"]
    assert "Peter" not in result.output and "dailybugle" not in result.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [(r["request_id"], r["recorded"], r["draft"]) for r in rows] == [(ids[0], "transform", "block")]
    [audit] = audit_rows(running.services.recorder.engine, action="read_original")
    assert audit["details"]["purpose"] == "policy replay" and audit["details"]["replayed"] == 2


def test_replay_reads_only_the_window_and_team_asked_for_and_prints_a_table(
    recorded: tuple[RunningProxy, list[str]], tmp_path: Path
) -> None:
    running, _ = recorded
    url = running.config.database_url
    replay = ["policy", "replay", str(_draft(tmp_path)), "--processes", "0"]  # detection in this process
    assert "replayed 0 requests" in invoke([*replay, "--team", "nobody"], url).output
    assert "replayed 0 requests" in invoke([*replay, "--since", "2000-01-01", "--until", "2000-01-02"], url).output
    table = invoke(replay, url).output
    assert "replayed 2 requests; 1 would change" in table
    assert "transform -> block" in table and "contact-details" in table


def test_replay_refuses_a_draft_with_errors_naming_the_line(
    recorded: tuple[RunningProxy, list[str]], tmp_path: Path
) -> None:
    running, _ = recorded
    draft = _draft(tmp_path)
    (draft / "broken.yaml").write_text("id: broken\nrules:\n  - {id: x, detect: [PERSON], action: pseudonymise}\n")
    env = {"DATABASE_URL": running.config.database_url, "PRIVACY_PROXY_CONFIG": ""}
    result = CliRunner().invoke(main, ["policy", "replay", str(draft), "--processes", "0"], env=env)
    assert result.exit_code == 1 and "broken.yaml:3:" in result.output


class _Counting:
    """The detector, counting the calls (and slots) it is given."""

    def __init__(self, engine: DetectionEngine) -> None:
        self.engine, self.calls = engine, 0

    async def detect(self, slots: list[Slot], entities: set[str], detectors: Specs) -> list[Finding]:
        self.calls += 1
        return await self.engine.detect(slots, entities, detectors)


def test_replay_in_pages_finds_and_reports_what_one_request_at_a_time_does(
    detector: DetectionEngine, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    seed(engine, 11, sealer=SEALER)  # four surfaces, names and addresses; originals sealed
    write_records(engine, SEALER, {"jane-1": 0.5, "jane-2": 0.2})  # bodies without a model: unreadable
    draft = load_policies(_draft(tmp_path), known_entities=detector.supported_entities())
    rows = list(replay_module._rows(engine, SEALER, replay_module.Window()))
    assert len(rows) == 13 and all(row.body is not None for row in rows)

    def seen(run: Scan | str) -> Any:
        return run if isinstance(run, str) else (run.findings, run.decision, run.texts, run.forwarded)

    def alone(row: Any) -> Scan | str:
        try:
            return asyncio.run(dry_run(row.body, draft, detector, row.context))
        except Exception:
            return "unreadable"

    counting = _Counting(detector)
    paged = asyncio.run(replay_module._scan_page(rows, draft, counting))  # type: ignore[arg-type]
    assert [seen(run) for run in paged] == [seen(alone(row)) for row in rows]
    assert counting.calls <= 3  # one call per set of policies in force (three teams), not one per request

    reports = []
    for page in (1, 5):
        ids = io.StringIO()
        report = replay_module.replay(engine, SEALER, draft, detector, replay_module.Window(), ids, page=page)
        reports.append((report.as_dict(), ids.getvalue()))
    assert reports[0] == reports[1]
    assert (reports[0][0]["changed"], reports[0][0]["skipped"]) == (11, {"unreadable": 2})
    engine.dispose()
