"""Reading records back: one request with its findings and (opened) payloads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, and_, func, or_, select

from proxy.clock import as_utc
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


def tokens_used_today(engine: Engine, key_name: str) -> int:
    """Tokens the key's requests used since midnight UTC, across every replica."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    query = select(func.coalesce(func.sum(requests.c.total_tokens), 0)).where(
        requests.c.key_name == key_name, requests.c.created_at >= midnight
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


class RequestFilter(BaseModel):
    """What `GET /admin/requests` can narrow by; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    since: datetime | None = None
    until: datetime | None = None
    team: str | None = None
    key: str | None = None
    model: str | None = None
    decision: str | None = None
    status: str | None = None


def list_requests(
    engine: Engine, where: RequestFilter, limit: int, after: tuple[datetime, str] | None = None
) -> list[dict[str, Any]]:
    """Newest first, `limit` rows after the keyset cursor (created_at, id) of the last page."""
    query = select(requests).order_by(requests.c.created_at.desc(), requests.c.id.desc()).limit(limit)
    conditions = {
        "team": requests.c.team,
        "key": requests.c.key_name,
        "model": requests.c.model,
        "decision": requests.c.decision,
        "status": requests.c.status,
    }
    for name, column in conditions.items():
        value = getattr(where, name)
        if value is not None:
            query = query.where(column == value)
    if where.since is not None:
        query = query.where(requests.c.created_at >= as_stored(engine, where.since))
    if where.until is not None:
        query = query.where(requests.c.created_at < as_stored(engine, where.until))
    if after is not None:
        created, request_id = after
        query = query.where(
            or_(
                requests.c.created_at < created,
                and_(requests.c.created_at == created, requests.c.id < request_id),
            )
        )
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def as_stored(engine: Engine, moment: datetime) -> datetime:
    """A filter time as the column holds it: UTC (a time without a zone is taken as UTC), and
    without a zone on SQLite, which stores none and compares the text."""
    utc = as_utc(moment)
    return utc.replace(tzinfo=None) if engine.url.get_backend_name() == "sqlite" else utc
