"""`GET /v1/models`: the models the configured upstreams serve, as the asking SDK expects them.

A model named literally in an upstream's `models` is listed as it is. A glob (`gpt-*`) cannot
be listed, so the vendor's own list is asked for (with the company's key) and filtered by the
upstream's globs; a model is listed under the upstream that requests for it are routed to. The
vendor's answer is kept for `ttl` seconds; when it cannot answer within `timeout` seconds, the
literal names stand alone and the vendor is asked again after `retry` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from fastapi import Request
from fastapi.responses import JSONResponse

from proxy.config import UpstreamConfig
from proxy.dialects import ANTHROPIC_ERRORS, OPENAI_ERRORS
from proxy.errors import ProxyError
from proxy.upstream import Upstreams

log = logging.getLogger(__name__)
LISTABLE = frozenset({"openai", "openai-compatible", "anthropic"})  # kinds with a vendor model list
GLOB = frozenset("*?[")


@dataclass
class Catalogue:
    """The models on offer, with each vendor's own list cached."""

    ttl: float = 600.0
    retry: float = 60.0
    timeout: float = 5.0
    _lists: dict[str, tuple[float, list[str]]] = field(default_factory=dict)  # upstream -> (fresh until, ids)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def models(self, upstreams: Upstreams) -> list[tuple[str, str]]:
        """(model, upstream) for every model a request could be routed to, in config order."""
        listed: dict[str, str] = {}
        for upstream in upstreams.configs:
            for model in await self._served(upstreams, upstream):
                if model not in listed and upstreams.route(model).name == upstream.name:
                    listed[model] = upstream.name
        return list(listed.items())

    async def _served(self, upstreams: Upstreams, upstream: UpstreamConfig) -> list[str]:
        literal = [model for model in upstream.models if not GLOB & set(model)]
        globs = [model for model in upstream.models if GLOB & set(model)]
        if not globs or upstream.kind not in LISTABLE:
            return literal
        vendor = await self._vendor_list(upstreams, upstream)
        return literal + [model for model in vendor if any(fnmatchcase(model, glob) for glob in globs)]

    async def _vendor_list(self, upstreams: Upstreams, upstream: UpstreamConfig) -> list[str]:
        async with self._locks.setdefault(upstream.name, asyncio.Lock()):  # one request to the vendor at a time
            fresh_until, models = self._lists.get(upstream.name, (0.0, []))
            if time.monotonic() < fresh_until:
                return models
            try:
                async with asyncio.timeout(self.timeout):
                    models, keep = await upstreams.vendor_models(upstream), self.ttl
            except (ProxyError, TimeoutError, ValueError, AttributeError, TypeError) as exc:
                log.warning(
                    "upstream %s did not list its models (%s); listing literal names", upstream.name, type(exc).__name__
                )
                models, keep = [], self.retry
            self._lists[upstream.name] = (time.monotonic() + keep, models)
            return models


async def list_models(request: Request) -> JSONResponse:
    """The models the caller may use, in the shape of the SDK asking: Anthropic's SDK sends
    `anthropic-version`, OpenAI's does not."""
    services = request.app.state.services
    anthropic = "anthropic-version" in request.headers
    try:
        caller = await services.keys.authenticate(request.headers, request.client.host if request.client else None)
    except ProxyError as error:
        body = (ANTHROPIC_ERRORS if anthropic else OPENAI_ERRORS).error_body(error)
        return JSONResponse(body, error.status_code)
    catalogue: Catalogue = request.app.state.catalogue
    listed = [(model, owner) for model, owner in await catalogue.models(services.upstreams) if caller.may_use(model)]
    if anthropic:
        data = [{"type": "model", "id": m, "display_name": m, "created_at": "1970-01-01T00:00:00Z"} for m, _ in listed]
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return JSONResponse({"data": data, "has_more": False, "first_id": first, "last_id": last})
    models = [{"id": m, "object": "model", "created": 0, "owned_by": owner} for m, owner in listed]
    return JSONResponse({"object": "list", "data": models})
