"""`/console/playground`: try the policies on a text or a whole request body, as a given team,
key and model, and see what the proxy would do — the very scan a live request runs
(`proxy.dry_run`), with the live hash key. Nothing is sent to a vendor and nothing is recorded.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from proxy.body import parse_json
from proxy.console.highlight import Segment, Span, highlight
from proxy.console.render import ConsoleRoute, page
from proxy.console.session import Session, current_session, read_form
from proxy.dialects import DIALECTS
from proxy.dry_run import chat_body, dry_run, explain
from proxy.errors import BadRequest, ProxyError
from proxy.exchange import Resolution
from proxy.pipeline import Services
from proxy.policy.schema import RequestContext
from proxy.scan import Scan
from proxy.transform import mask

DEFAULTS = {"team": "default", "key": "console", "model": "gpt-4o-mini", "endpoint": "openai-chat", "policy": ""}
DEFAULTS |= {"kind": "text", "input": ""}

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/playground")
async def playground_form(request: Request) -> Response:
    return _page(request, current_session(request), DEFAULTS, None)


@router.post("/playground")
async def playground_run(request: Request) -> Response:
    """Scan the submitted text (or body) and show findings, near misses, trace and forwarded text."""
    session = current_session(request)
    fields = DEFAULTS | {name: value for name, value in (await read_form(request, session)).items() if name in DEFAULTS}
    try:
        run = await _scan(request.app.state.services, fields)
    except ProxyError as error:  # a body its dialect cannot read, an unknown model: say so on the page
        return _page(request, session, fields, None, error.message, 400)
    return _page(request, session, fields, run)


async def _scan(services: Services, fields: dict[str, str]) -> Scan:
    if fields["endpoint"] not in DIALECTS:
        raise BadRequest("Choose one of the listed endpoints.")
    upstream = services.upstreams.route(fields["model"])
    context = RequestContext(
        team=fields["team"],
        key=fields["key"],
        upstream=upstream.name,
        model=fields["model"],
        endpoint=fields["endpoint"],
    )
    if fields["kind"] == "body":
        # the proxy's own reading of a body: the same limits (depth, surrogates, NaN) and messages (#16)
        body = parse_json(fields["input"].encode("utf-8", "surrogatepass"), services.config.server.max_json_depth)
    else:
        body = chat_body(fields["input"], context)
    return await dry_run(
        body, services.policies, services.detector, context, policy_id=fields["policy"] or None, hasher=services.hasher
    )


def _page(
    request: Request,
    session: Session,
    fields: dict[str, str],
    run: Scan | None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    services: Services = request.app.state.services
    return page(
        "playground.html",
        status,
        session=session,
        fields=fields,
        endpoints=sorted(DIALECTS),
        policies=[p.label for p in services.policies.policies],
        error=error,
        result=_result(run) if run else None,
    )


def _result(run: Scan) -> dict[str, Any]:
    """What the page shows of a scan. Values of findings appear masked, as `policy explain` shows them."""
    decided = [*run.decision.resolutions, *run.decision.monitored]
    resolved = {id(r.finding) for r in decided}
    near_misses = [f for f in run.findings if id(f) not in resolved]
    return {
        "decision": run.decision.kind,
        "policies": [p.label for p in run.policies],
        "block": run.decision.block,
        "would_block": run.decision.would_block,
        "findings": [_finding_row(run, r) for r in decided],
        "near_misses": [
            {"slot": run.slots[f.slot].id, "type": f.entity_type, "score": f.score, "value": _masked(run, f.slot, f)}
            for f in near_misses
        ],
        "slots": [] if run.decision.block else _forwarded_slots(run),
        "trace": explain(run),
        "forwarded": None if run.forwarded is None else json.dumps(run.forwarded, indent=2, ensure_ascii=False),
    }


def _finding_row(run: Scan, resolution: Resolution) -> dict[str, Any]:
    finding = resolution.finding
    return {
        "slot": run.slots[finding.slot].id,
        "span": f"{finding.start}–{finding.end}",
        "type": finding.entity_type,
        "score": finding.score,
        "value": _masked(run, finding.slot, finding),
        "action": resolution.action,
        "rule": f"{resolution.policy}/{resolution.rule}",
        "mode": resolution.mode,
    }


def _masked(run: Scan, slot: int, finding: Any) -> str:
    return mask(run.slots[slot].text[finding.start : finding.end], 2)


def _forwarded_slots(run: Scan) -> list[dict[str, Any]]:
    """Each slot as it would be forwarded, findings marked (the same marking as a stored record)."""
    slots = []
    for index, slot in enumerate(run.slots):
        spans = [
            Span(r.finding.start, r.finding.end, f"{r.finding.entity_type} · {r.policy}/{r.rule} · {r.action}")
            for r in run.decision.resolutions
            if r.finding.slot == index
        ]
        sent = run.texts.get(index, slot.text)
        segments = highlight(slot.text, sent, spans)
        slots.append({"id": slot.id, "segments": segments or [Segment(sent)], "marked": segments is not None})
    return slots
