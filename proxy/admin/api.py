"""`/admin/*`: browse what was recorded and operate the proxy, behind the admin key.

Reading a request shows its metadata, findings (types, spans, actions; never values), what the
vendor saw and what the vendor answered. The original request and the answer as returned to the
client (pseudonyms restored) hold the raw personal data: they come only with
`?include_original=true`, and every such read leaves an `audit_events` row naming the admin key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from proxy.auth import presented_key
from proxy.config import AdminConfig, hash_api_key
from proxy.errors import AuthenticationError, BadRequest, NotFound, PermissionDenied
from proxy.pipeline import Services
from proxy.store.audit import record_audit
from proxy.store.queries import RequestFilter, list_requests, load_record

ORIGINAL_KINDS = ("original", "response_returned")
MAX_PAGE = 500


@dataclass(frozen=True)
class Admin:
    """Who holds an admin key: the name the audit trail gives them, and their role."""

    actor: str
    role: str  # viewer | auditor

    def check_may_read_originals(self) -> None:
        """Only an auditor may open original text; anyone else gets a 403 that says so."""
        if self.role != "auditor":
            raise PermissionDenied(
                f"This admin key's role ({self.role}) may not open original text; an auditor's key may.",
                code="role_not_allowed",
            )


def admins(config: AdminConfig) -> dict[str, Admin]:
    """Every admin key by its SHA-256. The unnamed key (env or `sha256`) is an auditor named by
    a short fingerprint; named keys are `admin:<name>` with their role."""
    found = {digest: Admin(actor_of(digest), "auditor") for digest in config.unnamed_hashes()}
    return found | {key.sha256: Admin(f"admin:{key.name}", key.role) for key in config.keys}


def admin_caller(request: Request) -> Admin:
    """The admin presenting the request's key; `AuthenticationError` when there is none."""
    services: Services = request.app.state.services
    known = admins(services.config.admin)
    if not known:
        raise AuthenticationError("The admin API is off: set PRIVACY_PROXY_ADMIN_KEY (or admin.sha256) to use it.")
    token = presented_key(request.headers)
    admin = known.get(hash_api_key(token)) if token else None
    if admin is None:
        raise AuthenticationError("Missing or invalid admin key.")
    return admin


def admin_actor(request: Request) -> str:
    """The admin key's name for the audit trail."""
    return admin_caller(request).actor


def actor_of(digest: str) -> str:
    """How an admin key (by its SHA-256) is named in the audit trail: a short fingerprint."""
    return "admin:" + hashlib.sha256(digest.encode()).hexdigest()[:12]


router = APIRouter(prefix="/admin")


@router.get("/requests")
async def requests_page(
    request: Request,
    actor: str = Depends(admin_actor),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    cursor: str | None = None,
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    key: str | None = None,
    model: str | None = None,
    decision: str | None = None,
    status: str | None = None,
    monitor_decision: str | None = None,
    entity: str | None = None,
    rule: str | None = None,
    policy: str | None = None,
) -> JSONResponse:
    """One page of recorded requests, newest first; pass `next_cursor` back for the next page."""
    reject_unknown(request, {*RequestFilter.model_fields, "limit", "cursor"})
    services: Services = request.app.state.services
    where = request_filter(
        since=since,
        until=until,
        team=team,
        key=key,
        model=model,
        decision=decision,
        status=status,
        monitor_decision=monitor_decision,
        entity=entity,
        rule=rule,
        policy=policy,
    )
    after = decode_cursor(cursor) if cursor else None
    rows = await anyio.to_thread.run_sync(list_requests, services.recorder.engine, where, limit, after)
    return JSONResponse({"data": [_jsonable(row) for row in rows], "next_cursor": next_cursor(rows, limit)})


def reject_unknown(request: Request, known: set[str]) -> None:
    """A filter the endpoint does not know is refused (400), never silently ignored: a misspelt
    `?entitty=US_SSN` would otherwise answer with every request."""
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        name = unknown[0][:40]
        raise BadRequest(f"Unknown query parameter '{name}'; this endpoint takes {', '.join(sorted(known))}.")


def request_filter(**values: str | None) -> RequestFilter:
    """The filters as given (empty ones left out); `BadRequest` naming a malformed one."""
    try:
        return RequestFilter(**{name: value for name, value in values.items() if value})
    except ValidationError as exc:
        field = ".".join(str(part) for part in exc.errors()[0]["loc"])
        raise BadRequest(f"Invalid filter '{field}': expected an ISO 8601 date or time.") from None


def next_cursor(rows: list[dict[str, Any]], limit: int) -> str | None:
    """The cursor of the page after `rows`, or None when this page was the last."""
    if len(rows) < limit:
        return None
    last = rows[-1]
    return base64.urlsafe_b64encode(f"{last['created_at'].isoformat()}|{last['id']}".encode()).decode()


@router.get("/requests/{request_id}")
async def one_request(
    request: Request, request_id: str, admin: Annotated[Admin, Depends(admin_caller)], include_original: bool = False
) -> JSONResponse:
    if include_original:
        admin.check_may_read_originals()
    actor = admin.actor
    services: Services = request.app.state.services
    engine = services.recorder.engine
    record = await anyio.to_thread.run_sync(load_record, engine, services.sealer, request_id)
    if record is None:
        raise NotFound("No recorded request has this id.")  # the id is not repeated: it is client input
    payloads = {k: v for k, v in record.payloads.items() if include_original or k not in ORIGINAL_KINDS}
    if include_original:
        shown = sorted(set(record.payloads) & set(ORIGINAL_KINDS))
        await anyio.to_thread.run_sync(
            lambda: record_audit(engine, actor=actor, action="read_original", target=request_id, payloads=shown)
        )
    findings = [{k: v for k, v in f.items() if k not in ("value_hash", "request_id")} for f in record.findings]
    return JSONResponse(
        {"request": _jsonable(record.request), "findings": [_jsonable(f) for f in findings], "payloads": payloads}
    )


@router.post("/policies/reload")
async def reload_policies(request: Request, actor: str = Depends(admin_actor)) -> JSONResponse:
    """Reload now and say how it went; a failed reload keeps the policies in force."""
    services: Services = request.app.state.services
    watcher = services.watcher
    assert watcher is not None
    ok = await anyio.to_thread.run_sync(watcher.reload)
    body = {
        "reloaded": ok,
        "policies": [p.label for p in services.policies.policies],
        "policy_digest": services.policies.digest,
        "error": None if ok else watcher.last_error,
    }
    return JSONResponse(body, 200 if ok else 422)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, _, request_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created), request_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("Invalid 'cursor': pass back the next_cursor of the previous page.") from None
