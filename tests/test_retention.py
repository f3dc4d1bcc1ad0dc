"""Retention: each data class is purged past its own age, in batches, by `privacy-proxy purge`
and by the schedule inside `serve`; every purge is audited."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from sqlalchemy import select

from proxy.cli import main
from proxy.config import Config, RetentionConfig
from proxy.governance.retention import PURGE_LOCK, SCHEDULED_ACTOR, PurgeRunning, purge, run_purge
from proxy.store.audit import audit_rows
from proxy.store.database import downgrade, make_engine, upgrade
from proxy.store.tables import payloads, requests

from .conftest import StartProxy
from .mock_vendor import MockVendor
from .stored import SEALER, invoke, stored, write_records

ALL = {"original", "forwarded", "response_received", "response_returned"}
AGES = {"req_new": 1, "req_2_months": 60, "req_7_months": 200, "req_2_years": 800}
RETENTION = {"original": "30d", "response": "180d", "forwarded": "365d", "metadata": "730d"}


def test_each_class_is_purged_past_its_own_age_and_a_dry_run_counts_the_same(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        write_records(engine, SEALER, AGES)
        before = {rid: stored(engine, rid) for rid in AGES}
        retention = RetentionConfig.model_validate(RETENTION)

        expected = {"metadata": 1, "original": 2, "forwarded": 0, "response": 2}  # two response kinds per record
        assert purge(engine, retention, dry_run=True) == expected
        assert {rid: stored(engine, rid) for rid in AGES} == before
        assert purge(engine, retention, batch_size=1) == expected

        assert stored(engine, "req_new").payloads == ALL
        assert stored(engine, "req_2_months").payloads == ALL - {"original"}
        assert stored(engine, "req_7_months").payloads == {"forwarded"}
        assert stored(engine, "req_7_months").value_hashes == before["req_7_months"].value_hashes
        gone = stored(engine, "req_2_years")
        assert (gone.request, gone.payloads, gone.value_hashes) == (None, set(), [])  # findings cascade
        assert purge(engine, retention) == dict.fromkeys(expected, 0)
    finally:
        engine.dispose()


def test_upgrading_dates_the_payloads_already_stored(database_url: str) -> None:
    """Payload retention finds rows by their own `created_at` (migration 0004): rows stored
    before it get their request's time."""
    upgrade(database_url)
    engine = make_engine(database_url)
    write_records(engine, SEALER, {"req_before_0004": 45})
    engine.dispose()
    downgrade(database_url, "0003_keys_and_audit")
    upgrade(database_url)
    joined = payloads.join(requests, requests.c.id == payloads.c.request_id)
    query = select(payloads.c.created_at, requests.c.created_at).select_from(joined)
    with engine.connect() as connection:
        times = connection.execute(query.where(requests.c.id == "req_before_0004")).all()
    engine.dispose()
    assert len(times) == 4 and all(payload is not None and payload == request for payload, request in times)


def test_on_postgresql_a_purge_waits_its_turn_while_another_replica_holds_the_purge_lock(
    postgres_url: str, tmp_path: Path
) -> None:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    write_records(engine, SEALER, {"req_lock_2_years": 800})
    retention = RetentionConfig.model_validate(RETENTION)
    config = tmp_path / "proxy.yaml"
    config.write_text(f"retention: {RETENTION}\n".replace("'", ""))
    try:
        with psycopg.connect(postgres_url, autocommit=True) as other_replica:
            assert other_replica.execute("SELECT pg_try_advisory_lock(%s)", (PURGE_LOCK,)).fetchone() == (True,)
            with pytest.raises(PurgeRunning):
                run_purge(engine, retention, SCHEDULED_ACTOR)
            env = {"DATABASE_URL": postgres_url, "PRIVACY_PROXY_CONFIG": ""}
            busy = CliRunner().invoke(main, ["purge", "--config", str(config)], env=env)
            assert busy.exit_code == 1 and "another purge is running" in busy.output
            assert stored(engine, "req_lock_2_years").request is not None
            other_replica.execute("SELECT pg_advisory_unlock(%s)", (PURGE_LOCK,))
        assert run_purge(engine, retention, SCHEDULED_ACTOR)["metadata"] >= 1
        assert stored(engine, "req_lock_2_years").request is None
        with psycopg.connect(postgres_url, autocommit=True) as other_replica:  # and the purge let go of it
            assert other_replica.execute("SELECT pg_try_advisory_lock(%s)", (PURGE_LOCK,)).fetchone() == (True,)
    finally:
        engine.dispose()


def test_purge_command_reports_and_audits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    upgrade(url)
    engine = make_engine(url)
    write_records(engine, SEALER, AGES)
    config = tmp_path / "proxy.yaml"
    config.write_text(f"retention: {RETENTION}\n".replace("'", ""))

    dry = invoke(["purge", "--dry-run", "--config", str(config)], url)
    assert "original   kept 30d   2 payloads would be deleted" in dry.output
    assert audit_rows(engine, action="purge") == []  # counting deletes nothing, so it is not audited
    done = invoke(["purge", "--config", str(config)], url)
    assert "metadata   kept 730d  1 records deleted" in done.output
    [row] = audit_rows(engine, action="purge")
    assert row["actor"].startswith("cli:")
    assert row["details"] == {
        "deleted": {"metadata": 1, "original": 2, "forwarded": 0, "response": 2},
        "retention": {"metadata": "730d", "original": "30d", "forwarded": "365d", "response": "180d"},
    }
    engine.dispose()


def test_serve_purges_on_schedule_without_touching_fresh_records(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    upgrade(url)
    engine = make_engine(url)
    write_records(engine, SEALER, {"req_stale": 60})
    engine.dispose()
    with start_proxy(database_url=url, retention={"original": "30d", "purge_interval": "0.1s"}) as running:
        raw = running.client().chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Hello Peter Parker"}]
        )
        fresh = raw.headers["x-proxy-request-id"]
        engine = running.services.recorder.engine
        deadline = time.monotonic() + 10
        while "original" in stored(engine, "req_stale").payloads and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stored(engine, "req_stale").payloads == ALL - {"original"}
        time.sleep(0.5)  # several more rounds, with nothing left to delete
        assert running.record(fresh).payloads.keys() == ALL
        rows = audit_rows(engine, action="purge")
    assert [(row["actor"], row["details"]["deleted"]) for row in rows] == [("serve:scheduled", {"original": 1})]


@pytest.mark.parametrize(
    ("given", "problem"),
    [("0d", "longer than 0"), ("-3h", "longer than 0"), ("soon", "a number and s, m, h, d or w")],
)
def test_a_retention_that_is_not_a_positive_duration_is_refused(given: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Config.model_validate({"retention": {"original": given}})


def test_durations_read_short_forms_and_survive_the_trip_to_worker_processes() -> None:
    config = Config.model_validate({"retention": {"original": "30d", "response": "36h", "purge_interval": 0}})
    again = Config.model_validate_json(config.model_dump_json())
    assert again.retention == config.retention
    assert (again.retention.original.days, again.retention.response.total_seconds()) == (30, 36 * 3600)  # type: ignore[union-attr]
    assert again.retention.metadata is None and again.retention.purge_interval.total_seconds() == 0
