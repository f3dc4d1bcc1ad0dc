"""Reading records back: one request with its findings and (opened) payloads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

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
            p["kind"]: _decode(sealer.open(p["data"], p["encoding"], p["key_id"], request_id, p["kind"]))
            for p in sealed
        }
        return StoredRecord(dict(row), [dict(f) for f in found], opened)


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def tokens_used_today(engine: Engine, key_name: str) -> int:
    """Tokens the key's requests used since midnight UTC, across every replica."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    query = select(func.coalesce(func.sum(requests.c.total_tokens), 0)).where(
        requests.c.key_name == key_name, requests.c.created_at >= midnight
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())
