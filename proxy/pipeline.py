"""One request, start to finish. Read `handle` top to bottom to learn the product:

    authenticate → read → route → extract → select → detect → decide → transform → forward
    → restore → record

Each stage is a function in its own module and writes its part of the `Exchange`. Any error
before `forward` ends the request with a vendor-shaped error, so nothing unscanned leaves;
`record` always runs, for failures too.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from proxy.auth import KeyRing
from proxy.config import Config
from proxy.detection import DetectionEngine
from proxy.dialects import Dialect
from proxy.dialects.paths import DuplicateKey, loads_strict, write_slots
from proxy.errors import BadRequest, PayloadTooLarge, PolicyBlocked, ProxyError
from proxy.exchange import Exchange
from proxy.hashing import Hasher
from proxy.policy.bundle import PolicySet, detectors_of, entities_of
from proxy.policy.decide import decide
from proxy.respond import StreamRelay, error_response, whole_response
from proxy.store.recorder import Recorder
from proxy.store.sealing import Sealer
from proxy.transform import transform
from proxy.upstream import Upstreams

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What every request needs, built once by the app's lifespan."""

    config: Config
    keys: KeyRing
    policies: PolicySet
    detector: DetectionEngine
    upstreams: Upstreams
    recorder: Recorder
    hasher: Hasher
    sealer: Sealer


async def handle(request: Request, dialect: Dialect, services: Services) -> Response:
    """Run one request through every stage; always returns a response and always records."""
    exchange = Exchange(endpoint=dialect.name, **_context_headers(request))
    deferred = False
    try:
        exchange.caller = services.keys.authenticate(request.headers, request.client.host if request.client else None)
        exchange.raw_body, exchange.body = await read_json(request, services.config.server.max_body_bytes)
        exchange.model, exchange.stream = dialect.model(exchange.body), dialect.is_stream(exchange.body)
        upstream = services.upstreams.route(exchange.model)
        exchange.upstream = upstream.name
        exchange.slots = dialect.request_slots(exchange.body)
        policies = services.policies.select()
        exchange.policies = [policy.label for policy in policies]
        started = time.perf_counter()
        exchange.findings = await services.detector.detect(
            exchange.slots, entities_of(policies), detectors_of(policies)
        )
        exchange.timings.detect_ms = (time.perf_counter() - started) * 1000
        exchange.decision = decide(exchange.findings, exchange.slots, policies)
        if exchange.decision.block is not None:
            block = exchange.decision.block
            raise PolicyBlocked(block.message, rule=block.rule, entity_type=block.entity_type)
        forwarded = apply_transform(exchange, dialect, services.hasher)
        started = time.perf_counter()
        reply = await services.upstreams.send(upstream, dialect, forwarded, exchange.stream, request.headers)
        if reply.events is not None:
            deferred = True  # the stream records itself when it ends
            return StreamRelay(exchange, dialect, reply, services.recorder, started)
        exchange.timings.upstream_ms = (time.perf_counter() - started) * 1000
        return whole_response(exchange, dialect, reply)
    except ProxyError as error:
        return error_response(exchange, dialect, error)
    except Exception as exc:
        # A bug. Log the type and place only: an exception message can quote request text.
        log.error("unexpected %s in request %s at %s", type(exc).__name__, exchange.id, _where(exc))
        return error_response(exchange, dialect, ProxyError("The proxy failed to handle this request."))
    finally:
        if not deferred:
            exchange.timings.total_ms = exchange.timings.since_start_ms()
            services.recorder.submit(exchange)


def _context_headers(request: Request) -> dict[str, Any]:
    tags = request.headers.get("x-proxy-tags", "")
    return {
        "subject": request.headers.get("x-proxy-subject"),
        "conversation": request.headers.get("x-proxy-conversation"),
        "tags": [tag.strip() for tag in tags.split(",") if tag.strip()],
    }


async def read_json(request: Request, limit: int) -> tuple[bytes, dict[str, Any]]:
    """The body, refused above `limit` bytes before it is all read."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than the proxy's limit of {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is larger than the proxy's limit of {limit} bytes.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        body = loads_strict(raw)
    except DuplicateKey:
        # Not named: a key a client chose (metadata, arguments) can itself be personal data.
        raise BadRequest("The request body repeats a key; send each key once.", code="invalid_json") from None
    except (ValueError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise BadRequest(f"The request body is not valid JSON{where}.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    return raw, body


def apply_transform(exchange: Exchange, dialect: Dialect, hasher: Hasher) -> bytes:
    """The bytes to forward: the client's own bytes when nothing changes, so every field the
    proxy does not understand reaches the vendor exactly as sent."""
    assert exchange.body is not None and exchange.decision is not None
    texts, pseudonyms = transform(exchange.slots, exchange.decision.resolutions, hasher)
    exchange.pseudonyms = pseudonyms.originals
    if not texts:
        exchange.forwarded = exchange.body
        return exchange.raw_body
    exchange.forwarded = write_slots(exchange.body, [(exchange.slots[i], text) for i, text in texts.items()])
    return json.dumps(exchange.forwarded, ensure_ascii=False).encode()


def _where(exc: BaseException) -> str:
    """The innermost frames of a traceback, without the message (which may quote request text)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
