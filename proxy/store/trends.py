"""Counts over time for the console's trends: requests per day and decision, findings per day and
entity type, requests per team and per model, the rules that fire most, and what monitor-mode
rules would have changed. Aggregates only: no text, no hash, no request id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, case, func, select

from proxy.store.queries import as_stored
from proxy.store.tables import findings, requests

TOP_RULES = 15


@dataclass
class Trends:
    """Every count the trends page shows, for requests created since `since`."""

    since: datetime
    #: (day as YYYY-MM-DD, decision or "none", requests)
    decisions: list[tuple[str, str, int]] = field(default_factory=list)
    #: (day, entity type, findings that a rule enforced)
    entities: list[tuple[str, str, int]] = field(default_factory=list)
    #: (team, requests, blocked)
    teams: list[tuple[str, int, int]] = field(default_factory=list)
    #: (model, requests, blocked)
    models: list[tuple[str, int, int]] = field(default_factory=list)
    #: (policy/rule, action, mode, findings)
    rules: list[tuple[str, str, str, int]] = field(default_factory=list)
    #: (decision enforced, decision had monitor rules been enforced, requests) where they differ
    monitor: list[tuple[str, str, int]] = field(default_factory=list)


def trends(engine: Engine, since: datetime, team: str | None = None, model: str | None = None) -> Trends:
    """The counts for requests created at or after `since`, of one team or model when named, so
    every per-day count can also be read per team and per model."""
    after = and_(
        requests.c.created_at >= as_stored(engine, since),
        *([requests.c.team == team] if team is not None else []),
        *([requests.c.model == model] if model is not None else []),
    )
    day = func.date(requests.c.created_at)
    decision = func.coalesce(requests.c.decision, "none")
    blocked = func.sum(case((requests.c.decision == "block", 1), else_=0))
    with_request = findings.join(requests, findings.c.request_id == requests.c.id)
    result = Trends(since)
    with engine.connect() as connection:

        def rows(query: Any) -> list[Any]:
            return list(connection.execute(query))

        result.decisions = [
            (str(d), k, n) for d, k, n in rows(select(day, decision, func.count()).where(after).group_by(day, decision))
        ]
        entity_query = (
            select(day, findings.c.entity_type, func.count())
            .select_from(with_request)
            .where(after, findings.c.mode == "enforce")
            .group_by(day, findings.c.entity_type)
        )
        result.entities = [(str(d), e, n) for d, e, n in rows(entity_query)]
        for column, target in ((requests.c.team, "teams"), (requests.c.model, "models")):
            name = func.coalesce(column, "–")
            query = select(name, func.count(), blocked).where(after).group_by(name).order_by(func.count().desc())
            setattr(result, target, [(str(n), c, int(b or 0)) for n, c, b in rows(query)])
        rule_query = (
            select(findings.c.policy, findings.c.rule, findings.c.action, findings.c.mode, func.count())
            .select_from(with_request)
            .where(after)
            .group_by(findings.c.policy, findings.c.rule, findings.c.action, findings.c.mode)
            .order_by(func.count().desc())
            .limit(TOP_RULES)
        )
        result.rules = [(f"{p}/{r}", a, m, n) for p, r, a, m, n in rows(rule_query)]
        differs = requests.c.monitor_decision.is_not(None) & (requests.c.monitor_decision != decision)
        monitor_query = (
            select(decision, requests.c.monitor_decision, func.count())
            .where(after, differs)
            .group_by(decision, requests.c.monitor_decision)
        )
        result.monitor = [(d, m, n) for d, m, n in rows(monitor_query)]
    return result
