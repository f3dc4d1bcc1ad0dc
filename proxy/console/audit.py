"""`/console/audit`: the audit trail — exports, erasures, purges, reads of originals, policy
reloads — newest first. Rows name what was done and how much, never a value."""

from __future__ import annotations

import json

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from proxy.console.render import ConsoleRoute, page
from proxy.console.session import current_session
from proxy.pipeline import Services
from proxy.store.audit import audit_rows

ROWS = 200

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/audit")
async def audit_page(request: Request, action: str = Query("", max_length=40)) -> Response:
    session = current_session(request)
    services: Services = request.app.state.services
    rows = await anyio.to_thread.run_sync(
        lambda: audit_rows(services.recorder.engine, action=action.strip() or None, limit=ROWS)
    )
    for row in rows:
        row["details"] = json.dumps(row["details"], sort_keys=True, ensure_ascii=False) if row["details"] else ""
    return page("audit.html", session=session, rows=rows, action=action.strip(), limit=ROWS)
