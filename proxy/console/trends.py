"""`/console/trends`: requests, blocks and findings per day, per team and per model, the rules
that fire most, and what monitor-mode rules would have changed, over the last N days (UTC)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from proxy.console.charts import stacked_bars
from proxy.console.render import ConsoleRoute, page
from proxy.console.session import current_session
from proxy.pipeline import Services
from proxy.store.trends import trends

DECISIONS = ["allow", "transform", "block", "none"]

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/trends")
async def trends_page(
    request: Request,
    days: int = Query(14, ge=1, le=366),
    team: str | None = Query(None, max_length=200),
    model: str | None = Query(None, max_length=200),
) -> Response:
    session = current_session(request)
    services: Services = request.app.state.services
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=days - 1)
    counts = await anyio.to_thread.run_sync(trends, services.recorder.engine, since, team or None, model or None)
    columns = [(since + timedelta(days=n)).date().isoformat() for n in range(days)]
    by_decision = {(day, decision): n for day, decision, n in counts.decisions}
    entity_types = sorted({entity for _, entity, _ in counts.entities})
    by_entity = {(day, entity): n for day, entity, n in counts.entities}
    findings_per_day: dict[tuple[str, str], int] = defaultdict(int)
    for day, _, n in counts.entities:
        findings_per_day[(day, "findings")] += n
    return page(
        "trends.html",
        session=session,
        days=days,
        team=team or "",
        model=model or "",
        columns=columns,
        decisions=DECISIONS,
        by_decision=by_decision,
        requests_chart=stacked_bars(columns, DECISIONS, by_decision),
        findings_chart=stacked_bars(columns, ["findings"], findings_per_day),
        entity_types=entity_types,
        by_entity=by_entity,
        entity_totals={e: sum(n for (_, t), n in by_entity.items() if t == e) for e in entity_types},
        trends=counts,
    )
