"""`/console/replay`: run a draft policy folder over a period of recorded traffic and see what
would change, by decision and per rule and entity type (`proxy.governance.replay`, the module
behind `privacy-proxy policy replay`, with the proxy's own detector and data keys).

A replay opens stored originals: each run writes one `read_original` audit row naming who ran
it. The page shows counts, and examples only as the replay gives them (every kind of data the
detector knows replaced by its type), folded away.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response

from proxy.admin.api import request_filter
from proxy.console.render import ConsoleRoute, page
from proxy.console.session import Session, current_session, read_form
from proxy.errors import BadRequest
from proxy.governance.replay import PAGE_BESIDE_LIVE, ReplayReport, Window, replay
from proxy.pipeline import Services
from proxy.policy.bundle import PolicySet
from proxy.policy.loader import PolicyError, load_policies
from proxy.store.audit import record_audit

FIELDS = ("draft", "since", "until", "team")
#: The page answers when the whole replay is done, so it takes a bounded period; longer ones
#: belong to `privacy-proxy policy replay`, which streams no page and can write a CSV.
MAX_PERIOD = timedelta(days=7)
SLACK = timedelta(hours=1)  # the form's default start (a week before the page opened) still fits

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/replay")
async def replay_form(request: Request) -> Response:
    week_ago = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    return _page(current_session(request), {"draft": "", "since": week_ago, "until": "", "team": ""})


@router.post("/replay")
async def replay_run(request: Request) -> Response:
    """Replay the draft over the chosen window (audited) and show the report."""
    session = current_session(request)
    form = await read_form(request, session)
    session.admin.check_may_read_originals()  # a replay reads every original in its window
    fields = {name: form.get(name, "").strip() for name in FIELDS}
    services: Services = request.app.state.services
    where = request_filter(since=fields["since"], until=fields["until"], team=fields["team"])
    if not _bounded(where.since, where.until):
        message = (
            f"A replay here covers at most {MAX_PERIOD.days} days from its start (the page waits for the whole run): "
            "for a longer period run `privacy-proxy policy replay DRAFT_DIR --since 30d` on the proxy's host."
        )
        return _page(session, fields, error=message, status=400)
    try:
        draft = await anyio.to_thread.run_sync(_draft, services, fields["draft"])
    except BadRequest as error:
        return _page(session, fields, error=error.message, status=400)
    window = Window(where.since, where.until, where.team)
    engine = services.recorder.engine
    report = await anyio.to_thread.run_sync(
        partial(replay, engine, services.sealer, draft, services.detector, window, page=PAGE_BESIDE_LIVE)
    )
    await anyio.to_thread.run_sync(
        lambda: record_audit(
            engine,
            actor=session.actor,
            action="read_original",
            target=f"policy replay {fields['draft']}",
            purpose="policy replay (console)",
            draft_digest=draft.digest,
            since=where.since,
            until=where.until,
            team=where.team,
            replayed=report.replayed,
            changed=report.changed,
        )
    )
    return _page(session, fields, report=report, draft=[p.label for p in draft.policies])


def _bounded(since: datetime | None, until: datetime | None) -> bool:
    """Whether the period has a start and lasts at most `MAX_PERIOD` (times without a zone are UTC)."""
    if since is None:
        return False
    end = until or datetime.now(UTC)
    return _utc(end) - _utc(since) <= MAX_PERIOD + SLACK


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _draft(services: Services, folder: str) -> PolicySet:
    """The draft policy set in `folder` (a directory on the proxy's host), validated like a reload."""
    path = Path(folder)
    if not folder or not path.is_dir():
        raise BadRequest("The draft must be a folder of policy files on the proxy's host.")
    try:
        return load_policies(path, known_entities=services.detector.supported_entities())
    except PolicyError as error:
        raise BadRequest(f"The draft does not load:\n{error}") from None


def _page(
    session: Session,
    fields: dict[str, str],
    *,
    report: ReplayReport | None = None,
    draft: list[str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return page(
        "replay.html",
        status,
        session=session,
        fields=fields,
        error=error,
        draft=draft or [],
        report=report.as_dict() if report else None,
    )
