"""`/admin/report` and `/admin/policies`: the compliance officer's questions over HTTP, behind
the admin key.

`/admin/report` is `privacy-proxy report`: the same filters as `GET /admin/requests`, refused
with 400 when unknown; JSON gives the counts and the requests (up to `limit`), `format=csv`
streams one line per request. `/admin/policies` is what is in force, each policy's digest, how
the last reload went (its error, when it failed) and the policy sets loaded before.
"""

from __future__ import annotations

from typing import Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from proxy.admin.api import admin_actor, reject_unknown, request_filter
from proxy.pipeline import Services
from proxy.store.policy_history import history
from proxy.store.report import FILTERS, counts, csv_lines, report_rows

router = APIRouter(prefix="/admin")
MAX_ROWS = 10_000


@router.get("/report")
async def report(
    request: Request,
    actor: str = Depends(admin_actor),
    format: Literal["json", "csv"] = "json",
    limit: int = Query(1000, ge=1, le=MAX_ROWS),
) -> Response:
    """Counts per decision, team, entity type and rule, and the requests selected by the filters."""
    reject_unknown(request, {*FILTERS, "format", "limit"})
    where = request_filter(**{name: request.query_params.get(name) for name in FILTERS})
    services: Services = request.app.state.services
    engine = services.recorder.engine
    if format == "csv":
        return StreamingResponse(csv_lines(report_rows(engine, where, limit)), media_type="text/csv")
    summary = await anyio.to_thread.run_sync(counts, engine, where)
    rows = await anyio.to_thread.run_sync(lambda: list(report_rows(engine, where, limit + 1)))
    return JSONResponse(
        {
            "filters": where.model_dump(mode="json", exclude_none=True),
            "counts": summary,
            "requests": rows[:limit],
            "truncated": len(rows) > limit,
        }
    )


@router.get("/policies")
async def policies(request: Request, actor: str = Depends(admin_actor)) -> JSONResponse:
    """The policies in force with their digests, the reload status, and the recent policy sets."""
    reject_unknown(request, set())
    services: Services = request.app.state.services
    policy_set, watcher = services.policies, services.watcher
    in_force = [
        {
            "id": p.id,
            "version": p.version,
            "digest": policy_set.digests[p.id],
            "status": p.status,
            "mode": p.mode,
            "applies_to": p.applies_to.model_dump(exclude_defaults=True),
        }
        for p in policy_set.policies
    ]
    recent = await anyio.to_thread.run_sync(history, services.recorder.engine)
    return JSONResponse(
        {
            "policy_digest": policy_set.digest,
            "policies": in_force,
            "status": "degraded" if watcher and watcher.last_error else "ok",
            "last_error": watcher.last_error if watcher else None,
            "reloads": watcher.reloads if watcher else 0,
            "reload_failures": watcher.failures if watcher else 0,
            "history": recent,
        }
    )
