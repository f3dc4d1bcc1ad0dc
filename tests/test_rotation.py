"""Data key rotation: originals move to the first key in `storage.data_keys` in batches; every
row stays readable throughout, an interrupted run resumes, and a finished one has nothing to do."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from proxy.config import DataKeyConfig
from proxy.governance.rotation import Rotation, rotate_data_key
from proxy.store.audit import audit_rows
from proxy.store.database import make_engine, upgrade
from proxy.store.queries import load_record
from proxy.store.sealing import SENSITIVE_KINDS, Sealer
from proxy.store.tables import payloads

from .stored import invoke, write_records

OLD, NEW = DataKeyConfig(id="2026-10", env="TEST_OLD_DATA_KEY"), DataKeyConfig(id="2026-12", env="TEST_NEW_DATA_KEY")


@pytest.fixture(autouse=True)
def data_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (OLD, NEW):
        monkeypatch.setenv(key.env, base64.b64encode(os.urandom(32)).decode())


def _sealed_with(engine: Engine) -> dict[tuple[str, str], str | None]:
    """(request id, kind) -> key id, for the payloads that hold raw values."""
    with engine.connect() as connection:
        rows = connection.execute(select(payloads).where(payloads.c.kind.in_(SENSITIVE_KINDS)))
        return {(row.request_id, row.kind): row.key_id for row in rows}


def test_rotation_reseals_originals_under_the_new_key_and_is_idempotent(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    write_records(engine, Sealer.from_config([OLD]), {"req_rot_a": 1, "req_rot_b": 2})
    write_records(engine, Sealer({}, None), {"req_rot_plain": 3})  # from before any key was configured
    config = tmp_path / "proxy.yaml"
    config.write_text(f"storage:\n  data_keys:\n    - {NEW.model_dump()}\n    - {OLD.model_dump()}\n")

    first = invoke(["keys", "rotate-data-key", "--config", str(config)], database_url)
    assert "sealed under 2026-12: 4 from older keys, 2 unencrypted before" in first.output
    assert set(_sealed_with(engine).values()) == {"2026-12"}
    new_only = Sealer.from_config([NEW])
    for request_id in ("req_rot_a", "req_rot_b", "req_rot_plain"):
        record = load_record(engine, new_only, request_id)
        assert record is not None and record.payloads["original"]["messages"][0]["content"] == "Hi Jane Doe"
        assert record.payloads["response_returned"] == {"text": "Hello Jane Doe"}

    again = invoke(["keys", "rotate-data-key", "--config", str(config)], database_url)
    assert "0 from older keys, 0 unencrypted before" in again.output and "can be removed" in again.output
    rows = audit_rows(engine, action="rotate_data_key")
    assert [(row["target"], row["details"]["resealed"], row["details"]["sealed"]) for row in rows] == [
        ("2026-12", 0, 0),
        ("2026-12", 4, 2),
    ]
    engine.dispose()


def test_an_interrupted_rotation_leaves_every_row_readable_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    upgrade(url)
    engine = make_engine(url)
    ids = [f"req_{i}" for i in range(5)]
    write_records(engine, Sealer.from_config([OLD]), dict.fromkeys(ids, 1))
    both, key_ids = Sealer.from_config([NEW, OLD]), [NEW.id, OLD.id]

    forgotten = rotate_data_key(engine, Sealer.from_config([NEW]), [NEW.id])  # the old key left out too soon
    assert forgotten == Rotation("2026-12", 0, 0, {"2026-10": 10})

    seal, calls = Sealer.seal, []

    def fail_on_the_fifth(self: Sealer, data: bytes, request_id: str, kind: str) -> tuple[bytes, str, str | None]:
        calls.append(kind)
        if len(calls) == 5:
            raise RuntimeError("interrupted")
        return seal(self, data, request_id, kind)

    monkeypatch.setattr(Sealer, "seal", fail_on_the_fifth)
    with pytest.raises(RuntimeError):
        rotate_data_key(engine, both, key_ids, batch_size=2)
    monkeypatch.setattr(Sealer, "seal", seal)
    assert sorted(_sealed_with(engine).values()) == ["2026-10"] * 6 + ["2026-12"] * 4  # two batches committed
    assert all(load_record(engine, both, request_id) is not None for request_id in ids)

    assert rotate_data_key(engine, both, key_ids) == Rotation("2026-12", 6, 0, {})
    assert set(_sealed_with(engine).values()) == {"2026-12"}
    engine.dispose()
