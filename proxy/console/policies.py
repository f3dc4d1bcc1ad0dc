"""`/console/policies`: the policies in force (versions, digests, scope, rules, their
definition), the reload status with its last error, a button to reload now (audited), the
history of policy sets, any stored version's text, and a diff between two versions — from the
policy history every load writes (`proxy.store.policy_history`)."""

from __future__ import annotations

import difflib
from typing import Any

import anyio
import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response

from proxy.console.render import ConsoleRoute, page
from proxy.console.session import Session, current_session, read_form
from proxy.errors import NotFound
from proxy.pipeline import Services
from proxy.policy.schema import Policy
from proxy.store.policy_history import Shown, find, history, versions

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/policies")
async def policies_page(request: Request) -> Response:
    return await _page(request, current_session(request), None)


@router.post("/policies/reload")
async def reload_policies(request: Request) -> Response:
    """Reload the policy files now; a failed reload keeps the policies in force and shows why."""
    session = current_session(request)
    await read_form(request, session)
    services: Services = request.app.state.services
    watcher = services.watcher
    assert watcher is not None
    # one audit row, `policy_reload` or `policy_reload_failed`, naming the signed-in actor
    ok = await anyio.to_thread.run_sync(watcher.reload, session.actor)
    return await _page(request, session, ok, 200 if ok else 422)


@router.get("/policies/text/{digest}")
async def policy_text_page(request: Request, digest: str) -> Response:
    """The stored text of one policy version, or of every version in a policy set."""
    session = current_session(request)
    shown = await _find(request, digest)
    return page("policy_text.html", session=session, shown=shown)


@router.get("/policies/diff")
async def policy_diff(request: Request, old: str, new: str) -> Response:
    """A unified diff between two stored policy versions (or sets), by digest."""
    session = current_session(request)
    before, after = await _find(request, old), await _find(request, new)
    lines = list(
        difflib.unified_diff(
            _joined(before).splitlines(), _joined(after).splitlines(), before.digest, after.digest, lineterm=""
        )
    )
    return page("policy_diff.html", session=session, old=before, new=after, lines=lines)


async def _find(request: Request, digest: str) -> Shown:
    services: Services = request.app.state.services
    shown = await anyio.to_thread.run_sync(find, services.recorder.engine, digest)
    if shown is None:
        raise NotFound("No stored policy version or policy set has this digest.")
    return shown


def _joined(shown: Shown) -> str:
    return "\n".join(f"# {label}\n{text}" for label, text in shown.texts.items())


async def _page(request: Request, session: Session, reloaded: bool | None, status: int = 200) -> Response:
    services: Services = request.app.state.services
    watcher, policy_set = services.watcher, services.policies
    engine = services.recorder.engine
    recent = await anyio.to_thread.run_sync(history, engine)
    stored = await anyio.to_thread.run_sync(versions, engine)
    return page(
        "policies.html",
        status,
        session=session,
        reloaded=reloaded,
        digest=policy_set.digest,
        digests=policy_set.digests,
        reloads=watcher.reloads if watcher else 0,
        failures=watcher.failures if watcher else 0,
        last_error=watcher.last_error if watcher else None,
        policies=[_described(policy) for policy in policy_set.policies],
        history=recent,
        versions=stored,
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
