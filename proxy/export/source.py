"""Which records an export reads, streamed from the database in constant memory.

One query joins each request to the two payloads the content mode needs and to its subject's
consent; the driver streams it (a server-side cursor on PostgreSQL), so memory does not grow
with the number of rows. Rows come in write order (`requests.seq`), so an incremental export
resumes after the last row the previous one read, even when a row was written late.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, Engine, Select, String, and_, cast, false, func, literal, or_, select
from sqlalchemy.sql.elements import KeyedColumnElement

from proxy.store.sealing import Sealer
from proxy.store.tables import feedback, findings, payloads, requests, subjects

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

    since: datetime | None = None  # exclusive: the boundary row belongs to the export that ended there
    until: datetime | None = None  # inclusive
    after_seq: int | None = None  # `--since-last`: rows written after this requests.seq
    streamed: bool | None = None  # only streamed (True) or only non-streamed (False) answers
    max_latency_ms: float | None = None  # the whole exchange, as the proxy timed it
    min_score: float | None = None  # the request's mean feedback score is at least this
    labels: tuple[str, ...] = ()  # feedback carrying any of these labels
    finish_reasons: tuple[str, ...] = ()  # stop, length, tool_calls, content_filter (read from the answer)
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
    seq: int
    created_at: datetime
    endpoint: str
    model: str | None
    upstream: str | None
    team: str | None
    decision: str | None
    policies: tuple[str, ...]
    tags: tuple[str, ...]
    conversation: str  # the X-Proxy-Conversation id, else the request's own id
    scope: str  # what turns of one conversation share: its id, else the caller (key and subject)
    subject: str | None
    opted_out: bool
    request: Any  # None when missing
    response: Any
    stream: bool = False
    score: float | None = None  # the mean feedback score, when asked for
    redacted: str | None = None  # surrogate mode: "TYPE\tslot\tstart\tvalue hash" lines of redacted findings
    unopened: bool = False  # a payload is sealed under a data key that is not configured


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    r = requests.c
    conditions: list[ColumnElement[bool]] = []
    if filters.since:
        conditions.append(r.created_at > filters.since)
    if filters.until:
        conditions.append(r.created_at <= filters.until)
    if filters.after_seq is not None:
        conditions.append(r.seq > filters.after_seq)
    if filters.streamed is not None:
        conditions.append(r.stream.is_(filters.streamed))
    if filters.max_latency_ms is not None:
        conditions.append(r.total_ms <= filters.max_latency_ms)
    if filters.min_score is not None:
        scored = select(feedback.c.request_id).group_by(feedback.c.request_id)
        conditions.append(r.id.in_(scored.having(func.avg(feedback.c.score) >= filters.min_score)))
    if filters.labels:
        conditions.append(r.id.in_(select(feedback.c.request_id).where(feedback.c.label.in_(filters.labels))))
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


def strata(engine: Engine, filters: Filters, by: str | None) -> Iterator[tuple[str, str]]:
    """(request id, stratum) of every matching record, for sampling; the stratum is a team or a model."""
    column = {"team": requests.c.team, "model": requests.c.model}.get(by or "", literal(""))
    query = select(requests.c.id, func.coalesce(column, "")).where(*_conditions(filters))
    with engine.connect() as connection:
        for id_, stratum in connection.execution_options(yield_per=5000).execute(query):
            yield str(id_), str(stratum)


def _query(filters: Filters, mode: ContentMode, scored: bool) -> Select[Any]:
    asked, answered = payloads.alias("asked"), payloads.alias("answered")
    request_kind, answer_kind = PAYLOAD_KINDS[mode]
    r = requests.c
    return (
        select(
            r.id,
            r.seq,
            r.created_at,
            r.endpoint,
            r.model,
            r.upstream,
            r.team,
            r.decision,
            r.policies,
            r.tags,
            r.conversation,
            r.key_name,
            r.subject,
            r.stream,
            subjects.c.training_opt_out,
            _redacted() if mode == "surrogate" else literal(None),
            _mean_score() if scored else literal(None),
            asked.c.data.label("asked_data"),
            asked.c.encoding.label("asked_encoding"),
            asked.c.key_id.label("asked_key_id"),
            answered.c.data.label("answered_data"),
            answered.c.encoding.label("answered_encoding"),
            answered.c.key_id.label("answered_key_id"),
        )
        .select_from(
            requests.outerjoin(subjects, subjects.c.subject == r.subject)
            .outerjoin(asked, and_(asked.c.request_id == r.id, asked.c.kind == request_kind))
            .outerjoin(answered, and_(answered.c.request_id == r.id, answered.c.kind == answer_kind))
        )
        .where(*_conditions(filters))
        .order_by(r.seq, r.id)
    )


def _redacted() -> Any:
    """The request's redacted findings, one line each: which value hides behind each bare `<TYPE>`."""
    f = findings.c
    line = f.entity_type + "\t" + f.slot + "\t" + cast(f.start_offset, String) + "\t" + f.value_hash
    return (
        select(func.aggregate_strings(line, "\n"))
        .where(f.request_id == requests.c.id, f.action == "redact", f.mode == "enforce")
        .scalar_subquery()
    )


def _mean_score() -> Any:
    return select(func.avg(feedback.c.score)).where(feedback.c.request_id == requests.c.id).scalar_subquery()


def stream(
    engine: Engine, sealer: Sealer, filters: Filters, mode: ContentMode, scored: bool = False
) -> Iterator[SourceRow]:
    """Every matching record in write order, `BATCH` rows in memory at a time; `scored` reads each
    record's mean feedback score too."""
    kinds = PAYLOAD_KINDS[mode]
    with engine.connect() as connection:
        for row in connection.execution_options(yield_per=BATCH).execute(_query(filters, mode, scored)):
            yield _source_row(tuple(row), sealer, kinds)


def _source_row(row: tuple[Any, ...], sealer: Sealer, kinds: tuple[str, str]) -> SourceRow:
    # positional, in the order of `_query`'s columns: a hot loop, and named access costs
    (id_, seq, created_at, endpoint, model, upstream, team, decision, policies, tags, conversation) = row[:11]
    key_name, subject, streamed, opted_out, redacted, score = row[11:17]
    bodies, unopened = [], False
    for kind, (data, encoding, key_id) in zip(kinds, (row[17:20], row[20:23]), strict=True):
        try:
            bodies.append(None if data is None else _decoded(sealer.open(data, encoding, key_id, id_, kind)))
        except Exception:  # a key that is not configured, or a blob that does not open: never its text
            unopened = True
            bodies.append(None)
    return SourceRow(
        id=id_,
        seq=seq or 0,
        created_at=created_at,
        endpoint=endpoint,
        model=model,
        upstream=upstream,
        team=team,
        decision=decision,
        policies=_split(policies),
        tags=_split(tags),
        conversation=conversation or id_,
        scope=f"conversation:{conversation}" if conversation else f"caller:{key_name}\x00{subject}",
        subject=subject,
        opted_out=bool(opted_out),
        request=bodies[0],
        response=bodies[1],
        stream=bool(streamed),
        redacted=redacted,
        score=None if score is None else float(score),
        unopened=unopened,
    )


def _decoded(data: bytes) -> Any:
    """A body as `open_payload` decodes it (JSON, else text), with orjson: the export's hot path."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data.decode("utf-8", "replace")


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(item for item in (value or "").split(",") if item)
