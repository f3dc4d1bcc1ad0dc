"""Reading records back: one request with its findings and (opened) payloads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from proxy.store.sealing import Sealer
from proxy.store.tables import findings, payloads, requests


@dataclass
class StoredRecord:
    request: dict[str, Any]
    findings: list[dict[str, Any]]
    payloads: dict[str, Any]  # kind -> decoded JSON body

    @property
    def status(self) -> str:
        return str(self.request["status"])


def load_record(engine: Engine, sealer: Sealer, request_id: str) -> StoredRecord | None:
    """One request with its findings and its payloads opened, or None."""
    with engine.connect() as connection:
        row = connection.execute(select(requests).where(requests.c.id == request_id)).mappings().first()
        if row is None:
            return None
        found = connection.execute(
            select(findings).where(findings.c.request_id == request_id).order_by(findings.c.id)
        ).mappings()
        sealed = connection.execute(select(payloads).where(payloads.c.request_id == request_id)).mappings()
        opened = {
            p["kind"]: open_payload(sealer, request_id, p["kind"], p["data"], p["encoding"], p["key_id"])
            for p in sealed
        }
        return StoredRecord(dict(row), [dict(f) for f in found], opened)


def open_payload(sealer: Sealer, request_id: str, kind: str, data: bytes, encoding: str, key_id: str | None) -> Any:
    """One `payloads` row opened and decoded: JSON, else text."""
    return _decode(sealer.open(data, encoding, key_id, request_id, kind))


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")
