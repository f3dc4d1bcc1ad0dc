"""Signing in to the console: the admin key once, then a signed HttpOnly cookie; a CSRF token
on every form.

The cookie holds no secret and no state on the server: it names the admin key (by the name
the audit trail uses; its role is looked up on every request) and an expiry, signed with a key derived from the hash key
that every replica shares, so any replica (or worker) accepts it. A key removed from the config
ends its sessions at once, since each request checks the fingerprint against the keys in force.
Signing out records the session in the shared database (`proxy.store.sign_outs`), which every
replica consults, so a copied cookie dies with its owner's sign-out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from fastapi.responses import Response

from proxy.admin.api import Admin, admins
from proxy.config import hash_api_key, is_loopback_host
from proxy.errors import BadRequest, PayloadTooLarge, PermissionDenied
from proxy.pipeline import Services
from proxy.store.sign_outs import signed_out

COOKIE = "privacy_proxy_console"
LIFETIME_SECONDS = 8 * 3600
MAX_FORM_BYTES = 1 << 20  # a pasted chat body fits; a form never needs more


class SignInRequired(Exception):
    """No valid session: the console answers with the sign-in page."""


@dataclass(frozen=True)
class Session:
    """Who is signed in (their audit name and role), the token their forms must carry, and the
    session's id (a digest of its cookie) and expiry, which signing out records."""

    admin: Admin
    csrf: str
    id: str
    expires_at: datetime

    @property
    def actor(self) -> str:
        return self.admin.actor

    @property
    def may_read_originals(self) -> bool:
        return self.admin.role == "auditor"


def sign_in(services: Services, key: str) -> str | None:
    """A session cookie value for a valid admin key, else None."""
    admin = admins(services.config.admin).get(hash_api_key(key)) if key else None
    if admin is None:
        return None
    claims = f"{admin.actor}|{int(time.time()) + LIFETIME_SECONDS}|{secrets.token_hex(8)}"
    body = base64.urlsafe_b64encode(claims.encode()).decode()
    return f"{body}.{_sign(services, body)}"


def current_session(request: Request) -> Session:
    """The request's session; `SignInRequired` when it has none, it expired, or its key is gone."""
    services: Services = request.app.state.services
    token = request.cookies.get(COOKIE, "")
    body, _, signature = token.partition(".")
    if not body or not hmac.compare_digest(signature, _sign(services, body)):
        raise SignInRequired
    try:
        actor, expires, _ = base64.urlsafe_b64decode(body.encode()).decode().split("|")
    except ValueError:
        raise SignInRequired from None
    admin = next((a for a in admins(services.config.admin).values() if a.actor == actor), None)
    if int(expires) < time.time() or admin is None:
        raise SignInRequired
    session_id = hashlib.sha256(body.encode()).hexdigest()
    if signed_out(services.recorder.engine, session_id):
        raise SignInRequired
    return Session(admin, _sign(services, "csrf:" + token)[:32], session_id, datetime.fromtimestamp(int(expires), UTC))


def set_session_cookie(response: Response, request: Request, token: str | None) -> None:
    """Set (or, with None, clear) the session cookie: HttpOnly, SameSite=Strict, only under
    /console, and Secure unless the console is reached over plain HTTP on loopback (where
    browsers would drop a Secure cookie and nothing crosses a network)."""
    secure = request.url.scheme == "https" or not is_loopback_host(request.url.hostname or "")
    response.set_cookie(
        COOKIE,
        token or "",
        max_age=LIFETIME_SECONDS if token else 0,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=secure,
    )


async def read_form(request: Request, session: Session | None) -> dict[str, str]:
    """A submitted form's fields, after the checks every console POST needs: same origin, and
    (once signed in) the session's CSRF token."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        raise PermissionDenied("This form was sent from another site.", code="cross_site_form")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise BadRequest("Send the console's forms as application/x-www-form-urlencoded.")
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        raise PayloadTooLarge(f"A console form may carry at most {MAX_FORM_BYTES} bytes.")
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise PayloadTooLarge(f"A console form may carry at most {MAX_FORM_BYTES} bytes.")
    fields = {name: values[0] for name, values in parse_qs(raw.decode("utf-8", "replace")).items()}
    if session is not None and not hmac.compare_digest(fields.get("csrf", ""), session.csrf):
        raise PermissionDenied("This form has expired: reload the page and send it again.", code="invalid_csrf")
    return fields


def _sign(services: Services, text: str) -> str:
    key = services.hasher.subkey("console-session")
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
