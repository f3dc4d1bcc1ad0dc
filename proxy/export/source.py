"""Which records an export reads, streamed from the database in constant memory.

One query joins each request to the two payloads the content mode needs and to its subject's
consent; the driver streams it (a server-side cursor on PostgreSQL), so memory does not grow
with the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, Engine, Select, and_, false, func, literal, or_, select
from sqlalchemy.sql.elements import KeyedColumnElement

from proxy.store.queries import open_payload
from proxy.store.sealing import Sealer
from proxy.store.tables import payloads, requests, subjects

ContentMode = Literal["forwarded", "surrogate", "original"]
# (request body, answer body) each mode reads: what the vendor saw, or what the client sent and got
PAYLOAD_KINDS: dict[ContentMode, tuple[str, str]] = {
    "forwarded": ("forwarded", "response_received"),
    "surrogate": ("forwarded", "response_received"),
    "original": ("original", "response_returned"),
}
BATCH = 500


class Filters(BaseModel):
    """What to export; every list means "any of these", except tags, which must all be present."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    teams: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    upstreams: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    decisions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("ok",)  # successful exchanges only, unless asked
    tags: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()  # "id" (any version) or "id@version"


@dataclass(frozen=True)
class SourceRow:
    """One record as an export sees it: a few request columns and the two bodies, opened."""

    id: str
    created_at: datetime
    endpoint: str
    model: str | None
    upstream: str | None
    team: str | None
    decision: str | None
    policies: tuple[str, ...]
    tags: tuple[str, ...]
    conversation: str  # the X-Proxy-Conversation id, else the request's own id
    opted_out: bool
    request: Any  # None when missing
    response: Any
    unopened: bool = False  # a payload is sealed under a data key that is not configured


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    r = requests.c
    conditions: list[ColumnElement[bool]] = []
    if filters.since:
        conditions.append(r.created_at >= filters.since)
    if filters.until:
        conditions.append(r.created_at < filters.until)
    for column, values in [
        (r.team, filters.teams),
        (r.key_name, filters.keys),
        (r.upstream, filters.upstreams),
        (r.model, filters.models),
        (r.decision, filters.decisions),
        (r.status, filters.statuses),
    ]:
        if values:
            conditions.append(column.in_(values))
    for tag in filters.tags:
        conditions.append(_listed(r.tags).contains(f",{tag},", autoescape=True))
    if filters.policies:
        wanted = [f",{p}," if "@" in p else f",{p}@" for p in filters.policies]
        conditions.append(_any([_listed(r.policies).contains(w, autoescape=True) for w in wanted]))
    return conditions


def _listed(column: KeyedColumnElement[Any]) -> ColumnElement[str]:
    """ ",a,b," for a stored "a,b", so one LIKE finds a whole item and never a part of one."""
    return literal(",") + func.coalesce(column, "") + literal(",")


def _any(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return or_(false(), *conditions)


def count(engine: Engine, filters: Filters) -> int:
    """How many records match (for the progress bar)."""
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(requests).where(*_conditions(filters))).scalar_one()
        )


def _query(filters: Filters, mode: ContentMode) -> Select[Any]:
    asked, answered = payloads.alias("asked"), payloads.alias("answered")
    request_kind, answer_kind = PAYLOAD_KINDS[mode]
    return (
        select(
            requests.c.id,
            requests.c.created_at,
            requests.c.endpoint,
            requests.c.model,
            requests.c.upstream,
            requests.c.team,
            requests.c.decision,
            requests.c.policies,
            requests.c.tags,
            requests.c.conversation,
            subjects.c.training_opt_out,
            asked.c.data.label("asked_data"),
            asked.c.encoding.label("asked_encoding"),
            asked.c.key_id.label("asked_key_id"),
            answered.c.data.label("answered_data"),
            answered.c.encoding.label("answered_encoding"),
            answered.c.key_id.label("answered_key_id"),
        )
        .select_from(
            requests.outerjoin(subjects, subjects.c.subject == requests.c.subject)
            .outerjoin(asked, and_(asked.c.request_id == requests.c.id, asked.c.kind == request_kind))
            .outerjoin(answered, and_(answered.c.request_id == requests.c.id, answered.c.kind == answer_kind))
        )
        .where(*_conditions(filters))
        .order_by(requests.c.created_at, requests.c.id)
    )


def stream(engine: Engine, sealer: Sealer, filters: Filters, mode: ContentMode) -> Iterator[SourceRow]:
    """Every matching record, oldest first, `BATCH` rows in memory at a time."""
    kinds = PAYLOAD_KINDS[mode]
    with engine.connect() as connection:
        for row in connection.execution_options(yield_per=BATCH).execute(_query(filters, mode)):
            yield _source_row(tuple(row), sealer, kinds)


def _source_row(row: tuple[Any, ...], sealer: Sealer, kinds: tuple[str, str]) -> SourceRow:
    # positional, in the order of `_query`'s columns: a hot loop, and named access costs
    (id_, created_at, endpoint, model, upstream, team, decision, policies, tags, conversation, opted_out) = row[:11]
    bodies, unopened = [], False
    for kind, (data, encoding, key_id) in zip(kinds, (row[11:14], row[14:17]), strict=True):
        try:
            bodies.append(None if data is None else open_payload(sealer, id_, kind, data, encoding, key_id))
        except Exception:  # a key that is not configured, or a blob that does not open: never its text
            unopened = True
            bodies.append(None)
    return SourceRow(
        id=id_,
        created_at=created_at,
        endpoint=endpoint,
        model=model,
        upstream=upstream,
        team=team,
        decision=decision,
        policies=_split(policies),
        tags=_split(tags),
        conversation=conversation or id_,
        opted_out=bool(opted_out),
        request=bodies[0],
        response=bodies[1],
        unopened=unopened,
    )


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(item for item in (value or "").split(",") if item)
