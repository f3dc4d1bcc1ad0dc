"""Nothing kept in the clear (#16): originals are sealed by default, a shared database without
data keys is refused, a blocked request's text is not kept unless a policy says so, and the
files the proxy writes are readable by its own user only."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import openai
import pytest
from sqlalchemy import Engine, select

from proxy.config import Config, ConfigError
from proxy.exchange import Caller, Exchange
from proxy.governance.rotation import rotate_data_key
from proxy.hashing import Hasher
from proxy.store.database import make_engine, upgrade
from proxy.store.queries import load_record
from proxy.store.records import rows_for
from proxy.store.sealing import LOCAL_KEY_ID, sealer_for
from proxy.store.spool import Spool
from proxy.store.tables import payloads

from .conftest import StartProxy
from .mock_vendor import MockVendor
from .stored import SEALER, write_records

CARD = "4111 1111 1111 1111"
KEEP_BLOCKED = """id: cards
version: 1
settings:
  keep_blocked_originals: true
rules:
  - id: payment-cards
    detect: [CREDIT_CARD]
    action: block
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _payload_rows(engine: Engine, request_id: str) -> dict[str, Any]:
    with engine.connect() as connection:
        rows = connection.execute(select(payloads).where(payloads.c.request_id == request_id))
        return {row.kind: row for row in rows}


def test_with_no_data_keys_originals_are_sealed_with_a_key_file_beside_the_database(
    start_proxy: StartProxy, vendor: MockVendor
) -> None:
    with start_proxy() as running:
        raw = running.client().chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Write to Peter Parker"}]
        )
        request_id = raw.headers["x-proxy-request-id"]
        record = running.record(request_id)
        rows = _payload_rows(running.services.recorder.engine, request_id)
        database = Path(running.config.database_url.removeprefix("sqlite:///"))
    assert record.payloads["original"]["messages"][0]["content"] == "Write to Peter Parker"
    original = rows["original"]
    assert (original.encoding, original.key_id) == ("zlib+aesgcm", LOCAL_KEY_ID)
    assert b"Peter" not in original.data
    key_file = database.parent / "data.key"
    assert _mode(key_file) == 0o600 and len(bytes.fromhex(key_file.read_text())) == 32
    assert _mode(database) == 0o600
    assert all(_mode(p) == 0o600 for p in database.parent.glob("proxy.db-*"))  # WAL and shared memory


def test_a_shared_database_without_data_keys_is_refused_before_it_is_opened() -> None:
    with pytest.raises(ConfigError, match="storage.data_keys: a shared database needs data keys"):
        sealer_for(Config(database_url="postgresql://nobody@127.0.0.1:9/none"))


def test_configured_keys_seal_while_the_local_key_still_opens_and_rotation_moves_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    upgrade(url)
    engine = make_engine(url)
    local = sealer_for(Config(database_url=url))
    write_records(engine, local, {"req_local": 1})
    monkeypatch.setenv("NEW_KEY", base64.b64encode(os.urandom(32)).decode())
    both = sealer_for(
        Config.model_validate({"database_url": url, "storage": {"data_keys": [{"id": "k2", "env": "NEW_KEY"}]}})
    )
    assert both.key_ids == ["k2", LOCAL_KEY_ID]
    record = load_record(engine, both, "req_local")
    assert record is not None and record.payloads["response_returned"] == {"text": "Hello Jane Doe"}
    moved = rotate_data_key(engine, both, both.key_ids)
    assert (moved.key_id, moved.resealed, moved.unreadable) == ("k2", 2, {})
    engine.dispose()


def test_a_damaged_local_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data.key").write_text("not hex")
    with pytest.raises(ConfigError, match="data.key is damaged"):
        sealer_for(Config(database_url=f"sqlite:///{tmp_path / 'proxy.db'}"))


def test_a_blocked_request_keeps_findings_and_hashes_but_not_its_text(
    start_proxy: StartProxy, vendor: MockVendor
) -> None:
    with start_proxy() as running:
        with pytest.raises(openai.BadRequestError) as refused:
            running.client().chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": f"Charge card {CARD} please"}]
            )
        request_id = refused.value.response.headers["x-proxy-request-id"]
        record = running.record(request_id)
    assert record.request["decision"] == "block" and record.payloads == {}
    cards = [f for f in record.findings if f["entity_type"] == "CREDIT_CARD"]
    assert cards and all(len(f["value_hash"]) == 64 for f in cards)


def test_a_policy_may_keep_blocked_originals_sealed(
    start_proxy: StartProxy, vendor: MockVendor, tmp_path: Path
) -> None:
    (tmp_path / "cards.yaml").write_text(KEEP_BLOCKED)
    with start_proxy(policies=str(tmp_path)) as running:
        with pytest.raises(openai.BadRequestError) as refused:
            running.client().chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": f"Charge card {CARD} please"}]
            )
        request_id = refused.value.response.headers["x-proxy-request-id"]
        record = running.record(request_id)
        rows = _payload_rows(running.services.recorder.engine, request_id)
    assert CARD in record.payloads["original"]["messages"][0]["content"]
    assert rows["original"].encoding == "zlib+aesgcm"


def test_spooled_records_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    exchange = Exchange(endpoint="openai-chat", caller=Caller("k", "t"), status="ok", raw_body=b"{}")
    spool = Spool(tmp_path / "spool.jsonl")
    spool.append([rows_for(exchange, SEALER, Hasher(b"k"), None)])
    assert _mode(tmp_path / "spool.jsonl.0001") == 0o600
