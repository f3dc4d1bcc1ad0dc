"""`/console/policies`: the policies in force (versions, scope, rules, their definition), the
reload status with its last error, and a button to reload now (audited)."""

from __future__ import annotations

from typing import Any

import anyio
import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response

from proxy.console.render import ConsoleRoute, page
from proxy.console.session import Session, current_session, read_form
from proxy.pipeline import Services
from proxy.policy.schema import Policy
from proxy.store.audit import record_audit

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/policies")
async def policies_page(request: Request) -> Response:
    return _page(request, current_session(request), None)


@router.post("/policies/reload")
async def reload_policies(request: Request) -> Response:
    """Reload the policy files now; a failed reload keeps the policies in force and shows why."""
    session = current_session(request)
    await read_form(request, session)
    services: Services = request.app.state.services
    watcher = services.watcher
    assert watcher is not None
    ok = await anyio.to_thread.run_sync(watcher.reload)
    digest = services.policies.digest
    await anyio.to_thread.run_sync(
        lambda: record_audit(
            services.recorder.engine, actor=session.actor, action="reload_policies", reloaded=ok, policy_digest=digest
        )
    )
    return _page(request, session, ok, 200 if ok else 422)


def _page(request: Request, session: Session, reloaded: bool | None, status: int = 200) -> Response:
    services: Services = request.app.state.services
    watcher = services.watcher
    return page(
        "policies.html",
        status,
        session=session,
        reloaded=reloaded,
        digest=services.policies.digest,
        reloads=watcher.reloads if watcher else 0,
        failures=watcher.failures if watcher else 0,
        last_error=watcher.last_error if watcher else None,
        policies=[_described(policy) for policy in services.policies.policies],
    )


def _described(policy: Policy) -> dict[str, Any]:
    scope = policy.applies_to.model_dump(exclude_defaults=True)
    return {
        "policy": policy,
        "scope": "; ".join(f"{name}: {', '.join(values)}" for name, values in scope.items()) or "every request",
        "definition": yaml.safe_dump(
            policy.model_dump(mode="json", exclude_defaults=True, by_alias=True), sort_keys=False, allow_unicode=True
        ),
    }
