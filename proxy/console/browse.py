"""The requests pages: the filtered list (and its CSV), one request's detail, and the audited
reveal of its original text.

What the pages show by default is what the vendor saw: metadata, findings (type, span, rule,
action; never the value or its hash) and the forwarded text with each finding marked. The
original request and the answer as returned to the client hold the raw personal data: they are
shown only after a POST from the detail page, and each such read writes an audit row.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Engine

from proxy.admin.api import ORIGINAL_KINDS, decode_cursor, next_cursor, request_filter
from proxy.console.highlight import Segment, Span, highlight
from proxy.console.render import ConsoleRoute, page
from proxy.console.session import Session, current_session, read_form
from proxy.dialects import DIALECTS
from proxy.errors import NotFound, ProxyError
from proxy.pipeline import Services
from proxy.store.audit import record_audit
from proxy.store.queries import RequestFilter, StoredRecord, finding_summaries, list_requests, load_record

FILTERS = "since until team key model decision monitor_decision status entity rule policy".split()
PAGE_ROWS = 50
CSV_BATCH = 500
CSV_COLUMNS = (
    "id created_at team key_name endpoint model decision monitor_decision status http_status policies "
    "findings_count total_ms"
).split()

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/requests")
async def request_list(request: Request, cursor: str | None = None) -> Response:
    """One page of requests, newest first, with the filter form and a link to the next page."""
    session = current_session(request)
    services: Services = request.app.state.services
    filters = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    where = request_filter(**filters)
    after = decode_cursor(cursor) if cursor else None
    rows, summaries = await anyio.to_thread.run_sync(_listed, services.recorder.engine, where, after)
    chosen = {name: value for name, value in filters.items() if value}
    following = next_cursor(rows, PAGE_ROWS)
    return page(
        "requests.html",
        session=session,
        rows=rows,
        summaries=summaries,
        filters=filters,
        next_url=f"/console/requests?{urlencode(chosen | {'cursor': following})}" if following else None,
        csv_url=f"/console/requests.csv?{urlencode(chosen)}",
    )


@router.get("/requests.csv")
async def request_csv(request: Request) -> Response:
    """Every request the filters match, as CSV, read from the database page by page."""
    current_session(request)
    services: Services = request.app.state.services
    where = request_filter(**{name: request.query_params.get(name, "").strip() for name in FILTERS})
    headers = {"content-disposition": 'attachment; filename="requests.csv"'}
    return StreamingResponse(_csv_lines(services.recorder.engine, where), media_type="text/csv", headers=headers)


@router.get("/requests/{request_id}")
async def request_detail(request: Request, request_id: str) -> Response:
    """One request as the vendor saw it, with its findings marked."""
    session = current_session(request)
    return await _detail_page(request, session, request_id, reveal=False)


@router.post("/requests/{request_id}/original")
async def reveal_original(request: Request, request_id: str) -> Response:
    """The same page with the original request and the answer as returned; audited."""
    session = current_session(request)
    await read_form(request, session)
    session.admin.check_may_read_originals()
    return await _detail_page(request, session, request_id, reveal=True)


async def _detail_page(request: Request, session: Session, request_id: str, *, reveal: bool) -> Response:
    services: Services = request.app.state.services
    engine = services.recorder.engine
    record = await anyio.to_thread.run_sync(load_record, engine, services.sealer, request_id)
    if record is None:
        raise NotFound("No recorded request has this id.")
    originals = {kind: record.payloads[kind] for kind in ORIGINAL_KINDS if kind in record.payloads}
    if reveal:
        await anyio.to_thread.run_sync(
            lambda: record_audit(
                engine, actor=session.actor, action="read_original", target=request_id, payloads=sorted(originals)
            )
        )
    findings = [{k: v for k, v in f.items() if k not in ("value_hash", "request_id")} for f in record.findings]
    return page(
        "request.html",
        session=session,
        row=record.request,
        findings=findings,
        slots=forwarded_slots(record),
        response=_pretty(record.payloads.get("response_received")),
        forwarded=_pretty(record.payloads.get("forwarded")),
        originals={kind: _pretty(body) for kind, body in originals.items()} if reveal else None,
        has_originals=bool(originals),
    )


def forwarded_slots(record: StoredRecord) -> list[dict[str, Any]]:
    """Each text slot of the forwarded body, cut into segments with the findings marked.

    The original is opened here, on the server, only to place the marks (see `highlight`)."""
    dialect = DIALECTS.get(str(record.request["endpoint"]))
    original, forwarded = record.payloads.get("original"), record.payloads.get("forwarded")
    if dialect is None or not isinstance(forwarded, dict):
        return []
    try:
        sent = dialect.request_slots(forwarded)
        before = {slot.id: slot.text for slot in dialect.request_slots(original)} if isinstance(original, dict) else {}
    except ProxyError:
        return []
    slots = []
    for slot in sent:
        spans = [
            Span(f["start_offset"], f["end_offset"], f"{f['entity_type']} · {f['policy']}/{f['rule']} · {f['action']}")
            for f in record.findings
            if f["slot"] == slot.id and f["mode"] == "enforce"
        ]
        segments = highlight(before[slot.id], slot.text, spans) if slot.id in before else None
        slots.append({"id": slot.id, "segments": segments or [Segment(slot.text)], "marked": segments is not None})
    return slots


def _listed(
    engine: Engine, where: RequestFilter, after: Any
) -> tuple[list[dict[str, Any]], dict[str, dict[str, list[str]]]]:
    rows = list_requests(engine, where, PAGE_ROWS, after)
    return rows, finding_summaries(engine, [row["id"] for row in rows])


def _csv_lines(engine: Engine, where: RequestFilter) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*CSV_COLUMNS, "entity_types", "rules"])
    after = None
    while True:
        rows = list_requests(engine, where, CSV_BATCH, after)
        summaries = finding_summaries(engine, [row["id"] for row in rows])
        for row in rows:
            found = summaries[row["id"]]
            cells = [row[column] for column in CSV_COLUMNS] + [" ".join(found["entities"]), " ".join(found["rules"])]
            writer.writerow([_cell(cell) for cell in cells])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < CSV_BATCH:
            return
        after = (rows[-1]["created_at"], rows[-1]["id"])


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a quote mark."""
    text = "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _pretty(body: Any) -> str | None:
    if body is None:
        return None
    return json.dumps(body, indent=2, ensure_ascii=False) if not isinstance(body, str) else body
