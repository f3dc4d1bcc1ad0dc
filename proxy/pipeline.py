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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from proxy.auth import KeyRing
from proxy.config import Config
from proxy.detection import DetectionEngine
from proxy.dialects import Dialect
from proxy.dialects.paths import write_slots
from proxy.errors import BadRequest, PayloadTooLarge, PolicyBlocked, ProxyError, UpstreamError
from proxy.exchange import Exchange
from proxy.hashing import Hasher
from proxy.policy.bundle import PolicySet, detectors_of, entities_of
from proxy.policy.decide import decide
from proxy.restore import StreamRestorer, restore_body, unknown_placeholders
from proxy.store.recorder import Recorder
from proxy.store.sealing import Sealer
from proxy.transform import transform
from proxy.upstream import UpstreamReply, Upstreams

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
            deferred = True
            return stream_response(exchange, dialect, reply, services.recorder, started)
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
        body = json.loads(raw)
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


def whole_response(exchange: Exchange, dialect: Dialect, reply: UpstreamReply) -> Response:
    exchange.http_status = reply.status_code
    if reply.status_code >= 400:
        # The vendor's own error goes back as the vendor sent it.
        exchange.status, exchange.error = "upstream_error", f"upstream answered HTTP {reply.status_code}"
        exchange.response_received = exchange.response_returned = _json_or_text(reply.body)
        return Response(reply.body, reply.status_code, _headers(exchange, reply.headers), "application/json")
    try:
        body = json.loads(reply.body)
    except ValueError:
        raise UpstreamError(f"Upstream '{exchange.upstream}' answered with a body that is not JSON.") from None
    exchange.response_received = body
    exchange.response_returned = restore_body(dialect, body, exchange.pseudonyms)
    exchange.unknown_placeholders = unknown_placeholders(dialect, exchange.response_returned)
    exchange.usage = dialect.usage(body)
    exchange.status = "ok"
    content = reply.body if exchange.response_returned is body else json.dumps(exchange.response_returned).encode()
    return Response(content, reply.status_code, _headers(exchange, reply.headers), "application/json")


def stream_response(
    exchange: Exchange, dialect: Dialect, reply: UpstreamReply, recorder: Recorder, started: float
) -> StreamingResponse:
    exchange.http_status = reply.status_code
    restorer = StreamRestorer(dialect, exchange.pseudonyms)
    headers = _headers(exchange, reply.headers) | {"cache-control": "no-cache"}
    body = _restored_stream(exchange, dialect, reply, restorer, recorder, started)
    return StreamingResponse(body, reply.status_code, headers, media_type="text/event-stream")


async def _restored_stream(
    exchange: Exchange,
    dialect: Dialect,
    reply: UpstreamReply,
    restorer: StreamRestorer,
    recorder: Recorder,
    started: float,
) -> AsyncIterator[bytes]:
    assert reply.events is not None
    exchange.status = "streaming"
    try:
        async for batch in reply.events:
            out = b"".join(sse.encode() for event in batch for sse in restorer.event(event))
            if out:
                yield out
        tail = b"".join(sse.encode() for sse in restorer.end())
        if tail:
            yield tail
        exchange.status = "ok"
    except ProxyError as error:  # the upstream broke off mid-stream
        exchange.status, exchange.error = error.record_status, error.message
        yield f"data: {json.dumps(dialect.error_body(error))}\n\n".encode()
    finally:
        if exchange.status == "streaming":
            exchange.status = "client_disconnected"
        with anyio.CancelScope(shield=True):
            await reply.aclose()
        exchange.timings.upstream_ms = (time.perf_counter() - started) * 1000
        exchange.timings.total_ms = exchange.timings.since_start_ms()
        exchange.response_received = dialect.assemble([json.loads(data) for data in restorer.received])
        exchange.response_returned = dialect.assemble(restorer.returned)
        exchange.usage = dialect.usage(exchange.response_received)
        exchange.unknown_placeholders = unknown_placeholders(dialect, exchange.response_returned)
        recorder.submit(exchange)


def error_response(exchange: Exchange, dialect: Dialect, error: ProxyError) -> Response:
    exchange.status, exchange.http_status, exchange.error = (
        error.record_status,
        error.status_code,
        error.message,
    )
    body = json.dumps(dialect.error_body(error)).encode()
    return Response(body, error.status_code, _headers(exchange, {}), "application/json")


def _headers(exchange: Exchange, passed: dict[str, str]) -> dict[str, str]:
    headers = dict(passed)
    headers["x-proxy-request-id"] = exchange.id
    if exchange.decision is not None:
        headers["x-proxy-decision"] = exchange.decision.kind
    if exchange.policies:
        headers["x-proxy-policy"] = ",".join(exchange.policies)
    return headers


def _where(exc: BaseException) -> str:
    """The innermost frames of a traceback, without the message (which may quote request text)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
