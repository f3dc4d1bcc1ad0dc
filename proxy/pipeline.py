"""One request, start to finish. Read `handle` top to bottom to learn the product:

    authenticate → admit → read → route → extract → select → detect → decide → transform
    → forward → restore → record

Each stage is a function in its own module and writes its part of the `Exchange`. Any error
before `forward` ends the request with a vendor-shaped error, so nothing unscanned leaves;
`record` always runs, for failures too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from proxy.auth import KeyRing
from proxy.config import Config
from proxy.detection import DetectionEngine
from proxy.detection.propagate import propagate
from proxy.dialects import Dialect
from proxy.dialects.paths import DuplicateKey, get_at, loads_strict, write_slots
from proxy.errors import (
    BadRequest,
    ClientDisconnected,
    DetectionFailed,
    Overloaded,
    PayloadTooLarge,
    PolicyBlocked,
    ProxyError,
)
from proxy.exchange import Capture, Decision, Exchange, Finding, JSONPath
from proxy.governance.capture import bounded_capture, requested_capture
from proxy.hashing import Hasher
from proxy.limits import Gate, Limiter
from proxy.metrics import Metrics
from proxy.policy.bundle import PolicySet, detectors_of, entities_of
from proxy.policy.decide import decide
from proxy.policy.reload import PolicyWatcher
from proxy.policy.schema import Policy, RequestContext
from proxy.respond import StreamRelay, error_response, whole_response
from proxy.response_guard import ResponseGuard
from proxy.store.recorder import Recorder
from proxy.store.sealing import Sealer
from proxy.transform import transform
from proxy.upstream import UpstreamReply, Upstreams

log = logging.getLogger(__name__)
DISCONNECT_POLL_SECONDS = 0.25


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
    limiter: Limiter
    gate: Gate
    metrics: Metrics = field(default_factory=Metrics)
    watcher: PolicyWatcher | None = None
    warm: bool = False  # one detection has run (readyz waits for it)

    def record(self, exchange: Exchange) -> None:
        """The `record` stage: count the finished exchange and hand it to the writer."""
        self.metrics.observe(exchange)
        assemble = exchange.finalize
        if assemble is None:
            self.limiter.charge(exchange.caller, exchange.usage.total_tokens)
        else:  # a stream's usage is known once the recorder's thread has assembled the answer

            def assemble_then_charge() -> None:
                assemble()
                self.limiter.charge(exchange.caller, exchange.usage.total_tokens)

            exchange.finalize = assemble_then_charge
        self.recorder.submit(exchange)

    def admit(self) -> None:
        """Back-pressure: with queue and spool full, refuse rather than serve unrecorded."""
        if self.config.storage.when_full == "refuse" and self.recorder.full():
            raise Overloaded(
                "The proxy cannot record requests right now (its database is unreachable and its spool is "
                "full); retry later."
            )

    def install_policies(self, policies: PolicySet) -> None:
        """Swap in a reloaded policy set; requests in flight keep the set they started with."""
        self.policies = policies


async def handle(request: Request, dialect: Dialect, services: Services) -> Response:
    """Run one request through every stage; always returns a response and always records."""
    exchange = Exchange(endpoint=dialect.name)
    response: Response | None = None
    try:
        read_context_headers(request, exchange)
        requested = exchange.capture  # the client's X-Proxy-Capture
        exchange.capture = bounded_capture(requested, services.policies.policies)  # strictest until we know which apply
        exchange.caller = await services.keys.authenticate(
            request.headers, request.client.host if request.client else None
        )
        services.admit()
        async with services.gate.enter():
            response = await _scan_and_forward(request, dialect, services, exchange, requested)
            return response
    except ProxyError as error:
        return error_response(exchange, dialect, error)
    except Exception as exc:
        # A bug. Log the type and place only: an exception message can quote request text.
        log.error("unexpected %s in request %s at %s", type(exc).__name__, exchange.id, _where(exc))
        return error_response(exchange, dialect, ProxyError("The proxy failed to handle this request."))
    finally:
        if not isinstance(response, StreamRelay):  # a stream records itself when it ends
            exchange.timings.total_ms = exchange.timings.since_start_ms()
            services.record(exchange)


async def _scan_and_forward(
    request: Request, dialect: Dialect, services: Services, exchange: Exchange, requested: Capture
) -> Response:
    assert exchange.caller is not None
    exchange.raw_body, exchange.body = await read_json(request, services.config.server.max_body_bytes)
    model = dialect.model(exchange.body)
    if len(model) > MAX_MODEL_CHARS:
        raise BadRequest(f"The model name is longer than {MAX_MODEL_CHARS} characters.", code="invalid_model")
    exchange.model, exchange.stream = model, dialect.is_stream(exchange.body)
    await services.limiter.admit(exchange.caller, exchange.model)
    upstream = services.upstreams.route(exchange.model)
    exchange.upstream = upstream.name
    exchange.slots = dialect.request_slots(exchange.body)
    context = RequestContext(
        team=exchange.caller.team,
        key=exchange.caller.key_name,
        upstream=upstream.name,
        model=exchange.model,
        endpoint=dialect.name,
    )
    policy_set = services.policies  # one set for the whole request, even if a reload lands meanwhile
    exchange.policy_digest = policy_set.digest
    policies = policy_set.select(context)
    exchange.capture = bounded_capture(requested, policies)
    exchange.policies = [policy.label for policy in policies]
    exchange.findings = await detect(exchange, policies, services.detector)
    exchange.decision = decide(exchange.findings, exchange.slots, policies, context)
    refuse_if_blocked(exchange.decision)
    vendor_model = upstream.rename.get(exchange.model, exchange.model)
    forwarded = apply_transform(exchange, dialect, services.hasher, policies, vendor_model)
    guard = ResponseGuard.for_policies(policies, context, services.detector, services.hasher)
    started = time.perf_counter()
    reply = await unless_client_leaves(
        request,
        services.upstreams.send(upstream, dialect, forwarded, exchange.stream, request.headers, vendor_model),
    )
    if reply.events is not None:
        return StreamRelay(exchange, dialect, reply, services.record, started, guard)
    exchange.timings.upstream_ms = (time.perf_counter() - started) * 1000
    return await whole_response(exchange, dialect, reply, guard)


MAX_MODEL_CHARS = 200  # the column's size
CONTEXT_HEADER_LIMITS = {"x-proxy-subject": 200, "x-proxy-conversation": 200, "x-proxy-tags": 1000}  # column sizes


def read_context_headers(request: Request, exchange: Exchange) -> None:
    """The optional `X-Proxy-*` headers, refused when longer than the record can hold."""
    for name, limit in CONTEXT_HEADER_LIMITS.items():
        if len(request.headers.get(name, "")) > limit:
            raise BadRequest(f"The {name} header is longer than {limit} characters.", code="invalid_header")
    exchange.subject = request.headers.get("x-proxy-subject")
    exchange.conversation = request.headers.get("x-proxy-conversation")
    tags = request.headers.get("x-proxy-tags", "")
    exchange.tags = [tag.strip() for tag in tags.split(",") if tag.strip()]
    exchange.capture = requested_capture(request.headers)


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


async def detect(exchange: Exchange, policies: list[Policy], detector: DetectionEngine) -> list[Finding]:
    """Findings for every entity the policies act on, within the policies' scanning limits."""
    enforcing = [p for p in policies if p.mode == "enforce"]  # a monitor policy changes nothing
    limit = min((p.settings.max_scan_chars for p in enforcing if p.settings.max_scan_chars), default=None)
    size = sum(len(slot.text) for slot in exchange.slots)
    if limit is not None and size > limit:
        message = f"This request has {size} characters of text; at most {limit} are scanned, so it was not sent."
        raise PolicyBlocked(message, rule="settings.max_scan_chars", entity_type="")
    started = time.perf_counter()
    try:
        return propagate(
            exchange.slots, await detector.detect(exchange.slots, entities_of(policies), detectors_of(policies))
        )
    except DetectionFailed:
        if not policies or any(p.settings.on_detector_error == "block" for p in policies):
            raise
        # Every policy in force chose to let traffic through unscanned when detection fails.
        exchange.error = "detection failed; forwarded unscanned, as the policies' on_detector_error allows"
        log.warning("request %s forwarded unscanned: detection failed and policy allows it", exchange.id)
        return []
    finally:
        exchange.timings.detect_ms = (time.perf_counter() - started) * 1000


async def unless_client_leaves(request: Request, call: Awaitable[UpstreamReply]) -> UpstreamReply:
    """Await the vendor, but give up (closing the upstream connection) if the client hangs up
    first: nobody would read the answer, and the vendor would still bill for it."""
    vendor = asyncio.ensure_future(call)  # held and awaited right here, never left running
    try:
        # Most answers come quickly: only start listening for a hang-up once this one is slow.
        while not (await asyncio.wait({vendor}, timeout=DISCONNECT_POLL_SECONDS))[0]:
            if await request.is_disconnected():
                raise ClientDisconnected("The client closed the connection before the vendor answered.")
        return vendor.result()
    finally:
        vendor.cancel()


def refuse_if_blocked(decision: Decision) -> None:
    if decision.block is not None:
        block = decision.block
        raise PolicyBlocked(block.message, rule=block.rule, entity_type=block.entity_type)


def apply_transform(
    exchange: Exchange, dialect: Dialect, hasher: Hasher, policies: list[Policy], vendor_model: str
) -> bytes:
    """The bytes to forward: the client's own bytes when nothing changes, so every field the
    proxy does not understand reaches the vendor exactly as sent."""
    assert exchange.body is not None and exchange.decision is not None
    if not dialect.restores:  # nothing comes back to put the value into: a stand-in is just a redaction
        exchange.decision.resolutions = [
            replace(r, action="redact") if r.action == "pseudonymize" else r for r in exchange.decision.resolutions
        ]
    texts, pseudonyms = transform(exchange.slots, exchange.decision.resolutions, hasher)
    exchange.pseudonyms = pseudonyms.originals
    unscannable = _unscannable(exchange.body, dialect, policies)
    renamed = vendor_model != exchange.model
    if not texts and not unscannable and not renamed:
        exchange.forwarded = exchange.body
        return exchange.raw_body
    exchange.forwarded = write_slots(exchange.body, [(exchange.slots[i], text) for i, text in texts.items()])
    if renamed:
        exchange.forwarded["model"] = vendor_model
    for path in sorted(unscannable, reverse=True):  # from the back, so earlier indexes stay valid
        del get_at(exchange.forwarded, path[:-1])[path[-1]]
    return json.dumps(exchange.forwarded, ensure_ascii=False).encode()


def _unscannable(body: dict[str, Any], dialect: Dialect, policies: list[Policy]) -> list[JSONPath]:
    """Parts to strip (images, audio, files), after refusing the request if a policy blocks them."""
    parts = dialect.unscannable_parts(body)
    settings = {p.settings.unscannable_parts for p in policies if p.mode == "enforce"}
    if not parts or settings <= {"allow"}:
        return []
    if "block" in settings:
        message = "This request contains images, audio or files, which cannot be scanned; the policy blocks them."
        raise PolicyBlocked(message, rule="settings.unscannable_parts", entity_type="")
    return parts


def _where(exc: BaseException) -> str:
    """The innermost frames of a traceback, without the message (which may quote request text)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
