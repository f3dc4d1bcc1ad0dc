"""How every console page is answered: one Jinja2 environment that escapes everything, the
security headers, and errors (including "sign in first") turned into pages.

A `ConsoleRoute` wraps each console endpoint, so no page can forget a header or answer a
`ProxyError` with the JSON the API speaks.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined

from proxy.console.session import SignInRequired
from proxy.errors import ProxyError

TEMPLATES = Environment(
    loader=PackageLoader("proxy.console", "templates"),
    autoescape=True,  # every value, in every template: records hold text people and models wrote
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: No inline script or style, nothing from another origin, no framing, forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",  # so forms carry their Origin (no-referrer sends "null")
    "cache-control": "no-store",  # pages show records: keep them out of shared and disk caches
}


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A rendered template; `context` must hold everything it names (undefined names fail)."""
    return HTMLResponse(TEMPLATES.get_template(template).render(**context), status)


class ConsoleRoute(APIRoute):
    """A console endpoint: sign-in redirects, errors as pages, security headers on everything."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                response = RedirectResponse("/console/login", 303)
            except ProxyError as error:
                response = page("error.html", error.status_code, session=None, message=error.message)
            except RequestValidationError as exc:
                first = exc.errors()[0]
                name = ".".join(str(part) for part in first["loc"][1:]) or "request"
                response = page("error.html", 400, session=None, message=f"Invalid parameter '{name}'.")
            response.headers.update(HEADERS)
            return response

        return answer
