"""Audit answers without SQL: `privacy-proxy report` and `GET /admin/report`.

"Every request last month with a US_SSN, and what happened to it", "how often did rule X fire,
per team", "what would the monitored policy have blocked": one `RequestFilter` (the same filters
as `GET /admin/requests`) selects the requests; the report gives counts per decision, team,
entity type and rule, and the requests themselves, each with what happened to it. Only metadata
leaves: entity types, rules and decisions, never a value or its hash.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Engine, case, distinct, func, select

from proxy.store.queries import RequestFilter, finding_summaries, request_conditions
from proxy.store.tables import findings, requests

BATCH = 500
#: the filters a report (and `GET /admin/requests`) accepts; anything else is refused, not ignored
FILTERS = tuple(RequestFilter.model_fields)
COLUMNS = (
    "id",
    "created_at",
    "team",
    "key_name",
    "endpoint",
    "model",
    "status",
    "http_status",
    "decision",
    "monitor_decision",
    "policies",
    "policy_digest",
    "findings_count",
)
CSV_COLUMNS = (*COLUMNS, "entities", "rules")


def counts(engine: Engine, where: RequestFilter) -> dict[str, Any]:
    """Requests per decision (with the monitor outcome), per team, per entity type and per rule."""
    selected = request_conditions(engine, where)
    blocked = func.sum(case((requests.c.decision == "block", 1), else_=0))
    decision = func.coalesce(requests.c.decision, "none")
    monitor = func.coalesce(requests.c.monitor_decision, "none")
    team = func.coalesce(requests.c.team, "none")
    with_request = findings.join(requests, findings.c.request_id == requests.c.id)
    per_request = func.count(distinct(findings.c.request_id))
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(requests).where(*selected)).scalar_one()
        decisions = connection.execute(
            select(decision, monitor, func.count()).where(*selected).group_by(decision, monitor).order_by(decision)
        )
        teams = connection.execute(
            select(team, func.count(), blocked).where(*selected).group_by(team).order_by(func.count().desc())
        )
        entities = connection.execute(
            select(findings.c.entity_type, findings.c.mode, per_request, func.count())
            .select_from(with_request)
            .where(*selected)
            .group_by(findings.c.entity_type, findings.c.mode)
            .order_by(func.count().desc())
        )
        rule = (findings.c.policy, findings.c.rule, findings.c.action, findings.c.mode)
        rules = connection.execute(
            select(*rule, per_request, func.count())
            .select_from(with_request)
            .where(*selected)
            .group_by(*rule)
            .order_by(func.count().desc())
        )
        return {
            "requests": int(total),
            "decisions": [{"decision": d, "monitor_decision": m, "requests": n} for d, m, n in decisions],
            "teams": [{"team": t, "requests": n, "blocked": int(b or 0)} for t, n, b in teams],
            "entities": [{"entity_type": e, "mode": m, "requests": r, "findings": n} for e, m, r, n in entities],
            "rules": [
                {"rule": f"{p}/{r}" if p else (r or ""), "action": a, "mode": m, "requests": q, "findings": n}
                for p, r, a, m, q, n in rules
            ],
        }


def report_rows(engine: Engine, where: RequestFilter, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The selected requests, oldest first, each with its entity types and rules; streamed."""
    query = (
        select(*(requests.c[name] for name in COLUMNS))
        .where(*request_conditions(engine, where))
        .order_by(requests.c.created_at, requests.c.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        for batch in connection.execution_options(yield_per=BATCH).execute(query).mappings().partitions():
            summaries = finding_summaries(engine, [row["id"] for row in batch])
            for row in batch:
                summary = summaries.get(row["id"], {"entities": [], "rules": []})
                yield {**row, "created_at": row["created_at"].isoformat(), **summary}


def csv_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """The header, then one CSV line per request (lists joined with spaces), as they stream."""
    yield _line(CSV_COLUMNS)
    for row in rows:
        yield _line([" ".join(v) if isinstance(v, list) else v for v in (row[c] for c in CSV_COLUMNS)])


def _line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()
