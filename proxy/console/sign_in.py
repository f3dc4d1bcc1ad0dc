"""`/console/login` and `/console/logout`: trade the admin key for a session cookie, and back."""

from __future__ import annotations

import logging

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from proxy.console.render import ConsoleRoute, page
from proxy.console.session import SignInRequired, current_session, read_form, set_session_cookie, sign_in
from proxy.console.throttle import SignInThrottle
from proxy.pipeline import Services
from proxy.store.sign_outs import record_sign_out

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("")
async def home(request: Request) -> Response:
    return RedirectResponse("/console/requests", 303)


@router.get("/login")
async def login_form(request: Request) -> Response:
    try:
        current_session(request)
    except SignInRequired:
        return _login_page(request)
    return RedirectResponse("/console/requests", 303)


@router.post("/login")
async def login(request: Request) -> Response:
    """A valid admin key starts a session; anything else shows the form again (401), saying
    only that the key was not accepted. A client that keeps sending wrong keys is refused (429)
    for a while, whatever it sends."""
    services: Services = request.app.state.services
    if not services.config.admin.key_hashes():
        return _login_page(request, "The console is off: set PRIVACY_PROXY_ADMIN_KEY (or admin.sha256).", 401)
    fields = await read_form(request, None)
    throttle, client = _throttle(request), request.client.host if request.client else "unknown"
    wait = throttle.retry_after(client)
    if wait is not None:
        services.metrics.console_sign_ins.labels("throttled").inc()
        log.warning("console sign-in throttled: too many refused keys from one client")
        message = f"Too many refused sign-ins from this address: try again in {wait} seconds."
        response = _login_page(request, message, 429)
        response.headers["retry-after"] = str(wait)
        return response
    token = sign_in(services, fields.get("key", ""))
    if token is None:
        throttle.failed(client)
        services.metrics.console_sign_ins.labels("refused").inc()
        log.warning("console sign-in refused")  # no key, not even part of one, reaches the log
        return _login_page(request, "That admin key was not accepted.", 401)
    services.metrics.console_sign_ins.labels("accepted").inc()
    response = RedirectResponse("/console/requests", 303)
    set_session_cookie(response, request, token)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Clear the cookie and record the sign-out, so the cookie (or a copy) is refused everywhere."""
    session = current_session(request)
    await read_form(request, session)
    engine = request.app.state.services.recorder.engine
    await anyio.to_thread.run_sync(record_sign_out, engine, session.id, session.expires_at)
    response = RedirectResponse("/console/login", 303)
    set_session_cookie(response, request, None)
    return response


def _throttle(request: Request) -> SignInThrottle:
    """The app's sign-in throttle (one per worker process), made on first use."""
    state = request.app.state
    if not hasattr(state, "sign_in_throttle"):
        state.sign_in_throttle = SignInThrottle()
    throttle: SignInThrottle = state.sign_in_throttle
    return throttle


def _login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    return page("login.html", status, session=None, error=error)
