"""Storage on SQLite and PostgreSQL: migrations, complete records, sealing, and the spool."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from cryptography.exceptions import InvalidTag
from sqlalchemy import inspect, select

from proxy.exchange import Caller, Exchange
from proxy.hashing import Hasher
from proxy.store.database import downgrade, is_current, make_engine, upgrade
from proxy.store.recorder import Recorder
from proxy.store.records import rows_for
from proxy.store.spool import Spool
from proxy.store.tables import findings, metadata, payloads, requests

from .conftest import StartProxy
from .mock_vendor import MockVendor
from .stored import SEALER


def test_migrations_upgrade_from_empty_match_the_tables_and_downgrade(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        assert is_current(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), metadata)
        assert diff == [], "tables.py and the migrations disagree"
        downgrade(database_url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(database_url)
        assert {"requests", "payloads", "findings"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_every_row_of_a_request_is_there_after_the_response(
    start_proxy: StartProxy, vendor: MockVendor, database_url: str
) -> None:
    upgrade(database_url)
    with start_proxy(database_url=database_url) as running:
        raw = running.client().chat.completions.with_raw_response.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Ask Peter Parker at peter@dailybugle.com"}],
            extra_headers={"X-Proxy-Subject": "user-42", "X-Proxy-Tags": "support, eu"},
        )
        record = running.record(raw.headers["x-proxy-request-id"])
    request = record.request
    assert (request["status"], request["http_status"], request["decision"]) == ("ok", 200, "transform")
    assert (request["key_name"], request["team"], request["upstream"], request["model"]) == (
        "suite",
        "qa",
        "openai",
        "gpt-4o",
    )
    assert (request["subject"], request["tags"], request["policies"]) == (
        "user-42",
        "support,eu",
        "default@4,secrets-baseline@1",
    )
    assert request["total_tokens"] == 18 and request["detect_ms"] > 0 and request["total_ms"] >= request["upstream_ms"]
    assert record.payloads["original"]["messages"][0]["content"] == "Ask Peter Parker at peter@dailybugle.com"
    assert record.payloads["forwarded"]["messages"][0]["content"] == "Ask <PERSON_1> at <EMAIL_ADDRESS_1>"
    assert (
        record.payloads["response_received"]["choices"][0]["message"]["content"]
        == "Ask <PERSON_1> at <EMAIL_ADDRESS_1>"
    )
    assert (
        record.payloads["response_returned"]["choices"][0]["message"]["content"]
        == "Ask Peter Parker at peter@dailybugle.com"
    )
    hasher = running.services.hasher
    assert [(f["entity_type"], f["action"], f["rule"], f["slot"]) for f in record.findings] == [
        ("PERSON", "pseudonymize", "contact-details", "messages.0.content"),
        ("EMAIL_ADDRESS", "pseudonymize", "contact-details", "messages.0.content"),
    ]
    assert record.findings[1]["value_hash"] == hasher.digest("peter@dailybugle.com")
    assert "peter@dailybugle.com" not in repr(record.findings)


def test_stream_is_recorded_with_the_assembled_answer(proxy_stream_record: dict[str, object]) -> None:
    assert proxy_stream_record["received"] == "Hello <PERSON_1>, nice to meet you"
    assert proxy_stream_record["returned"] == "Hello Jane Doe, nice to meet you"


@pytest.fixture
def proxy_stream_record(start_proxy: StartProxy, vendor: MockVendor) -> dict[str, object]:
    vendor.script.chunk_chars = 2
    with start_proxy() as running:
        with running.client().chat.completions.with_streaming_response.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Hello Jane Doe, nice to meet you"}],
            stream=True,
            stream_options={"include_usage": True},
        ) as response:
            request_id = response.headers["x-proxy-request-id"]
            for _ in response.iter_lines():
                pass
        record = running.record(request_id)
    assert record.request["stream"] is True and record.request["status"] == "ok"
    assert record.request["total_tokens"] == 18
    return {
        "received": record.payloads["response_received"]["choices"][0]["message"]["content"],
        "returned": record.payloads["response_returned"]["choices"][0]["message"]["content"],
    }


def test_original_bodies_are_encrypted_when_a_data_key_is_set(
    start_proxy: StartProxy, vendor: MockVendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DATA_KEY", base64.b64encode(os.urandom(32)).decode())
    with start_proxy(storage={"data_keys": [{"id": "2026-11", "env": "TEST_DATA_KEY"}]}) as running:
        raw = running.client().chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Write to Peter Parker"}]
        )
        request_id = raw.headers["x-proxy-request-id"]
        record = running.record(request_id)
        with running.services.recorder.engine.connect() as connection:
            rows = {r.kind: r for r in connection.execute(select(payloads).where(payloads.c.request_id == request_id))}
    assert record.payloads["original"]["messages"][0]["content"] == "Write to Peter Parker"
    assert (rows["original"].encoding, rows["original"].key_id) == ("zlib+aesgcm", "2026-11")
    assert (rows["response_returned"].encoding, rows["forwarded"].encoding) == ("zlib+aesgcm", "zlib")
    with pytest.raises(InvalidTag):  # a sealed blob moved to another row does not open
        running.services.sealer.open(rows["original"].data, "zlib+aesgcm", "2026-11", "req_other", "original")


def _exchange(request_id: str) -> Exchange:
    exchange = Exchange(endpoint="openai-chat", id=request_id, caller=Caller("k", "t"), status="ok", raw_body=b"{}")
    exchange.model = "gpt-4o"
    return exchange


def test_recorder_spools_while_database_is_down_and_replays_without_duplicates(tmp_path: Path) -> None:
    hasher, sealer = Hasher(b"k"), SEALER
    spool = Spool(tmp_path / "spool.jsonl")
    down = Recorder(
        make_engine("postgresql://postgres@127.0.0.1:9/none"), lambda e: rows_for(e, sealer, hasher, None), spool
    )
    down.start()
    ids = [f"req_spool_{i}" for i in range(25)]
    for request_id in ids:
        down.submit(_exchange(request_id))
    down.stop()
    assert spool.pending() == 25

    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    up = Recorder(engine, lambda e: rows_for(e, sealer, hasher, None), spool)
    up.write([rows_for(_exchange(ids[0]), sealer, hasher, None)])  # one made it before the outage
    up.start()
    deadline = time.monotonic() + 15
    while spool.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    up.stop()
    with engine.connect() as connection:
        stored = list(connection.execute(select(requests.c.id)).scalars())
        payload_count = len(list(connection.execute(select(payloads.c.kind))))
        finding_count = len(list(connection.execute(select(findings.c.id))))
    engine.dispose()
    assert sorted(stored) == sorted(ids)
    assert payload_count == 25 and finding_count == 0
    assert not spool.has_records() and not list(tmp_path.glob("spool.jsonl.0*"))


def test_a_torn_spool_line_is_set_aside_and_the_rest_replayed(tmp_path: Path) -> None:
    hasher, sealer = Hasher(b"k"), SEALER
    spool = Spool(tmp_path / "spool.jsonl")
    spool.append([rows_for(_exchange("req_a"), sealer, hasher, None)])
    with open(tmp_path / "spool.jsonl.0001", "a") as handle:
        handle.write('{"request": {"id": "req_torn", "created_')  # a crash mid-append
    spool.append([rows_for(_exchange("req_b"), sealer, hasher, None)])
    assert [r.id for r in spool.peek(10)] == ["req_a", "req_b"]
    written: list[str] = []
    assert spool.drain(lambda records: written.extend(r.id for r in records), 10) == 2
    assert spool.drain(lambda records: written.extend(r.id for r in records), 10) == 0
    assert written == ["req_a", "req_b"] and not spool.has_records()
    assert "req_torn" in (tmp_path / "spool.jsonl.corrupt").read_text()


def _ids(spool: Spool, batch: int) -> list[str]:
    written: list[str] = []
    while spool.drain(lambda records: written.extend(r.id for r in records), batch):
        pass
    return written


def test_the_spool_rolls_over_into_segments_replayed_oldest_first_and_deleted_when_read(tmp_path: Path) -> None:
    hasher, sealer = Hasher(b"k"), SEALER
    spool = Spool(tmp_path / "spool.jsonl", segment_bytes=2000)
    ids = [f"req_seg_{i:03d}" for i in range(30)]
    for request_id in ids:
        spool.append([rows_for(_exchange(request_id), sealer, hasher, None)])
    segments = sorted(tmp_path.glob("spool.jsonl.0*"))
    assert len(segments) >= 3 and spool.pending() == 30 and spool.size_bytes() > 0
    assert _ids(spool, 7) == ids
    assert not list(tmp_path.glob("spool.jsonl.0*")) and spool.size_bytes() == 0


def test_a_restarted_replay_resumes_where_the_last_one_stopped(tmp_path: Path) -> None:
    hasher, sealer = Hasher(b"k"), SEALER
    ids = [f"req_resume_{i}" for i in range(10)]
    Spool(tmp_path / "spool.jsonl").append([rows_for(_exchange(i), sealer, hasher, None) for i in ids])
    first: list[str] = []
    assert Spool(tmp_path / "spool.jsonl").drain(lambda records: first.extend(r.id for r in records), 4) == 4
    again = Spool(tmp_path / "spool.jsonl")  # a new process: only the offset file remembers
    assert again.pending() == 6
    assert first + _ids(again, 4) == ids


def test_a_spool_file_of_the_previous_version_is_replayed_first(tmp_path: Path) -> None:
    hasher, sealer = Hasher(b"k"), SEALER
    legacy = tmp_path / "spool.jsonl"
    legacy.write_text(
        "".join(rows_for(_exchange(f"req_old_{i}"), sealer, hasher, None).to_json() + "\n" for i in range(3))
    )
    spool = Spool(legacy)
    spool.append([rows_for(_exchange("req_new"), sealer, hasher, None)])  # into a segment, not the old file
    assert (tmp_path / "spool.jsonl.0001").exists()
    assert _ids(spool, 2) == ["req_old_0", "req_old_1", "req_old_2", "req_new"]
    assert not legacy.exists() and not spool.has_records()


def test_spool_is_replayed_under_steady_traffic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("proxy.store.recorder.RETRY_SECONDS", 0.1)
    hasher, sealer = Hasher(b"k"), SEALER
    spool = Spool(tmp_path / "spool.jsonl")
    spool.append([rows_for(_exchange(f"req_old_{i}"), sealer, hasher, None) for i in range(5)])
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    recorder = Recorder(engine, lambda e: rows_for(e, sealer, hasher, None), spool)
    recorder.start()
    deadline = time.monotonic() + 10
    count = 0
    while spool.has_records() and time.monotonic() < deadline:
        recorder.submit(_exchange(f"req_new_{count}"))  # never idle for long
        count += 1
        time.sleep(0.05)
    recorder.stop()
    with engine.connect() as connection:
        stored = set(connection.execute(select(requests.c.id)).scalars())
    engine.dispose()
    assert {f"req_old_{i}" for i in range(5)} <= stored
    assert len(stored) == 5 + count


def test_hash_key_file_is_created_once_and_an_empty_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proxy.config import ConfigError
    from proxy.hashing import load_hash_key

    monkeypatch.delenv("NO_SUCH_HASH_KEY", raising=False)
    first = load_hash_key("NO_SUCH_HASH_KEY", tmp_path / "hash.key")
    assert len(first) == 64 and load_hash_key("NO_SUCH_HASH_KEY", tmp_path / "hash.key") == first
    assert (tmp_path / "hash.key").stat().st_mode & 0o777 == 0o600
    (tmp_path / "hash.key").write_text("")
    with pytest.raises(ConfigError, match="empty"):
        load_hash_key("NO_SUCH_HASH_KEY", tmp_path / "hash.key")
    with pytest.raises(ConfigError, match="every replica"):
        load_hash_key("NO_SUCH_HASH_KEY", None)  # a shared database: the env var is required


def test_a_record_the_database_refuses_is_set_aside_and_the_rest_of_its_batch_written(
    postgres_url: str, tmp_path: Path
) -> None:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    hasher, sealer = Hasher(b"k"), SEALER
    spool = Spool(tmp_path / "spool.jsonl")
    recorder = Recorder(engine, lambda e: rows_for(e, sealer, hasher, None), spool)
    bad = _exchange("req_too_long")
    bad.model = "m" * 300  # the column holds 200: PostgreSQL refuses the row, not the connection
    spool.append([rows_for(e, sealer, hasher, None) for e in (_exchange("req_ok_1"), bad, _exchange("req_ok_2"))])
    assert spool.drain(recorder.write_or_reject, 10) == 3
    with engine.connect() as connection:
        mine = requests.c.id.in_(["req_ok_1", "req_too_long", "req_ok_2"])  # the module shares its database
        stored = sorted(connection.execute(select(requests.c.id).where(mine)).scalars())
    engine.dispose()
    assert stored == ["req_ok_1", "req_ok_2"] and not spool.has_records()
    assert "req_too_long" in (tmp_path / "spool.jsonl.rejected").read_text() and recorder.lost == 1
    spool.append([rows_for(bad, sealer, hasher, None)])  # spooled again with its batch (the connection broke)
    assert spool.drain(recorder.write_or_reject, 10) == 1
    assert recorder.lost == 1 and len((tmp_path / "spool.jsonl.rejected").read_text().splitlines()) == 1
