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
    #: what a policy would have decided in monitor mode (`requests.monitor_decision`)
    monitor_decision: str | None = None
    #: requests with a finding of this entity type, or decided by this rule (`policy/rule` or `rule`)
    entity: str | None = None
    rule: str | None = None
    #: a policy in force, as `id` or `id@version`
    policy: str | None = None


def list_requests(
    engine: Engine, where: RequestFilter, limit: int, after: tuple[datetime, str] | None = None
) -> list[dict[str, Any]]:
    """Newest first, `limit` rows after the keyset cursor (created_at, id) of the last page."""
    query = select(requests).order_by(requests.c.created_at.desc(), requests.c.id.desc()).limit(limit)
    query = query.where(*request_conditions(engine, where))
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


def request_conditions(engine: Engine, where: RequestFilter) -> list[Any]:
    """The `requests` rows `where` selects, as conditions (shared by listing and `proxy.store.report`)."""
    query: list[Any] = []
    conditions = {
        "team": requests.c.team,
        "key": requests.c.key_name,
        "model": requests.c.model,
        "decision": requests.c.decision,
        "status": requests.c.status,
        "monitor_decision": requests.c.monitor_decision,
    }
    for name, column in conditions.items():
        value = getattr(where, name)
        if value is not None:
            query.append(column == value)
    query += _finding_conditions(where)
    if where.policy is not None:
        query.append(_lists_policy(where.policy))
    if where.since is not None:
        query.append(requests.c.created_at >= as_stored(engine, where.since))
    if where.until is not None:
        query.append(requests.c.created_at < as_stored(engine, where.until))
    return query


def _finding_conditions(where: RequestFilter) -> list[Any]:
    """`entity` and `rule` filters: the request has such a finding (an indexed lookup by request)."""
    matched = findings.alias("matched")  # its own name: a query over findings may use these too
    conditions = []
    if where.entity is not None:
        conditions.append(matched.c.entity_type == where.entity)
    if where.rule is not None:
        policy, _, rule = where.rule.rpartition("/")
        conditions.append(matched.c.rule == rule)
        if policy:
            conditions.append(matched.c.policy == policy)
    if not conditions:
        return []
    return [select(matched.c.id).where(matched.c.request_id == requests.c.id, *conditions).exists()]


def _lists_policy(policy: str) -> Any:
    """`requests.policies` is `id@version,...`: match one entry whole (`id` matches any version)."""
    escaped = policy.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%,{escaped},%" if "@" in policy else f"%,{escaped}@%"
    return ("," + requests.c.policies + ",").like(pattern, escape="\\")


def finding_summaries(engine: Engine, request_ids: list[str]) -> dict[str, dict[str, list[str]]]:
    """For each request, the entity types found and the rules that fired (`policy/rule`), sorted."""
    summary: dict[str, dict[str, set[str]]] = {i: {"entities": set(), "rules": set()} for i in request_ids}
    if not request_ids:
        return {}
    query = (
        select(findings.c.request_id, findings.c.entity_type, findings.c.policy, findings.c.rule)
        .where(findings.c.request_id.in_(request_ids))
        .distinct()
    )
    with engine.connect() as connection:
        for row in connection.execute(query):
            summary[row.request_id]["entities"].add(row.entity_type)
            if row.rule:
                summary[row.request_id]["rules"].add(f"{row.policy}/{row.rule}" if row.policy else row.rule)
    return {i: {name: sorted(values) for name, values in parts.items()} for i, parts in summary.items()}


def as_stored(engine: Engine, moment: datetime) -> datetime:
    """A filter time as the column holds it: UTC (a time without a zone is taken as UTC), and
    without a zone on SQLite, which stores none and compares the text."""
    utc = as_utc(moment)
    return utc.replace(tzinfo=None) if engine.url.get_backend_name() == "sqlite" else utc
