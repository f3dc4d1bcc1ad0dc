"""One request, start to finish. Read `handle` top to bottom to learn the product:

    authenticate → admit → read → route → select → scan → forward → restore → record

`scan` is `proxy.scan` (extract → canonicalise → detect → decide → transform), the same code the
dry runs use. The stages up to `forward` return what they found, and `handle` with the helpers
here writes it into the `Exchange`; on the way back `proxy.respond` fills in the answer's fields.
Any error before `forward` ends the request with a vendor-shaped error, so nothing unscanned
leaves; `record` always runs, for failures too.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from fastapi import Request
from fastapi.responses import Response

from proxy.auth import KeyRing
from proxy.body import read_body
from proxy.config import Config
from proxy.detection import DetectionEngine
from proxy.dialects import STREAMS, Dialect
from proxy.errors import (
    BadRequest,
    ClientDisconnected,
    Overloaded,
    PayloadTooLarge,
    PermissionDenied,
    ProxyError,
)
from proxy.exchange import Capture, Exchange
from proxy.governance.capture import admit_capture, bounded_capture, keeps_blocked_originals, requested_capture
from proxy.hashing import Hasher
from proxy.limits import Gate, GateSlot, Limiter
from proxy.metrics import Metrics
from proxy.policy.bundle import PolicySet
from proxy.policy.reload import PolicyWatcher
from proxy.policy.schema import RequestContext
from proxy.respond import StreamRelay, error_response, whole_response
from proxy.response.guard import ResponseGuard
from proxy.scan import UNSCANNED, Scanner
from proxy.scan_budget import ScanBudget
from proxy.store.recorder import Recorder
from proxy.store.sealing import Sealer
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
    budget: ScanBudget
    metrics: Metrics = field(default_factory=Metrics)
    watcher: PolicyWatcher | None = None
    warm: bool = False  # one detection has run (readyz waits for it)

    _streams: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)  # being recorded

    async def record(self, exchange: Exchange) -> None:
        """The `record` stage: count the finished exchange, hand it to the writer, charge its tokens."""
        self.metrics.observe(exchange)
        self.recorder.submit(exchange)
        # Shielded: a request cancelled by its client still charges what the vendor billed.
        with anyio.CancelScope(shield=True):
            await self.limiter.charge(exchange.caller, exchange.usage.total_tokens)

    def stream_ended(self, exchange: Exchange, assemble: Callable[[], None], slot: GateSlot) -> None:
        """A stream has ended (`StreamRelay` says so): free its gate slot, assemble its answer, record it."""
        slot.release()
        task = asyncio.get_running_loop().create_task(self._record_stream(exchange, assemble))
        self._streams.add(task)
        task.add_done_callback(self._streams.discard)

    async def _record_stream(self, exchange: Exchange, assemble: Callable[[], None]) -> None:
        # Assembling re-reads every event: a worker thread does it, so that neither the event loop
        # nor the next request on this keep-alive connection waits; `record` runs back on the loop.
        try:
            await asyncio.to_thread(assemble)
        except Exception as exc:  # the answer is missing from the record, the request is not
            log.error("could not assemble the stream of request %s: %s", exchange.id, type(exc).__name__)
        await self.record(exchange)

    async def streams_recorded(self) -> None:
        """Wait for the streams that have ended to be recorded (at shutdown)."""
        await asyncio.gather(*self._streams)

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
    try:
        read_context_headers(request, exchange)
        requested = exchange.capture  # the client's X-Proxy-Capture
        exchange.capture = bounded_capture(requested, services.policies.policies)  # strictest until we know which apply
        exchange.caller = await services.keys.authenticate(
            request.headers, request.client.host if request.client else None
        )
        admit_subject(exchange)
        services.admit()
        slot = await services.gate.acquire()
        try:
            return await _scan_and_forward(request, dialect, services, exchange, requested, slot)
        finally:
            if exchange.status != "streaming":
                slot.release()  # a stream holds its slot until it ends (`Services.stream_ended`)
    except ProxyError as error:
        return error_response(exchange, dialect, error)
    except Exception as exc:
        # A bug. Log the type and place only: an exception message can quote request text.
        log.error("unexpected %s in request %s at %s", type(exc).__name__, exchange.id, _where(exc))
        return error_response(exchange, dialect, ProxyError("The proxy failed to handle this request."))
    finally:
        if exchange.status != "streaming":  # a stream under way is recorded by `stream_ended`
            exchange.timings.total_ms = exchange.timings.since_start_ms()
            await services.record(exchange)


async def _scan_and_forward(
    request: Request, dialect: Dialect, services: Services, exchange: Exchange, requested: Capture, slot: GateSlot
) -> Response:
    assert exchange.caller is not None
    exchange.raw_body, exchange.body = await read_body(request, services.config.server)
    model = dialect.model(exchange.body)
    if len(model) > MAX_MODEL_CHARS:
        raise BadRequest(f"The model name is longer than {MAX_MODEL_CHARS} characters.", code="invalid_model")
    if not MODEL_NAME.fullmatch(model):  # a name is an identifier, not a place to put text (the scan reads it too)
        raise BadRequest("A model name may hold only letters, digits and . _ : / @ + -", code="invalid_model")
    streams = STREAMS.get(dialect.name)  # None: a surface that never streams answers whole
    exchange.model, exchange.stream = model, streams is not None and streams.is_stream(exchange.body)
    try:
        await services.limiter.admit(exchange.caller, model)
        upstream = services.upstreams.route(model)
    except ProxyError:
        exchange.model = None  # refused before the scan read it: the request's row keeps no unscanned name
        raise
    exchange.upstream = upstream.name
    context = RequestContext(
        team=exchange.caller.team,
        key=exchange.caller.key_name,
        upstream=upstream.name,
        model=exchange.model,
        endpoint=dialect.name,
    )
    policy_set = services.policies  # one set for the whole request, even if a reload lands meanwhile
    exchange.policy_digest = policy_set.digest
    scanner = Scanner.select(policy_set, context, services.detector, services.hasher)
    admit_capture(requested, exchange.caller, scanner.policies)
    exchange.capture = bounded_capture(requested, scanner.policies)
    if requested != "full":
        exchange.capture_downgrade = requested
        services.metrics.capture_downgrades.labels(requested).inc()
    exchange.keep_blocked_original = keeps_blocked_originals(scanner.policies)
    exchange.policies = [policy.label for policy in scanner.policies]
    vendor_model = upstream.rename.get(exchange.model, exchange.model)
    forwarded = await scan(exchange, dialect, scanner, vendor_model, services.budget)
    guard = ResponseGuard.for_scanner(scanner)
    started = time.perf_counter()
    reply = await unless_client_leaves(
        request,
        services.upstreams.send(upstream, dialect, forwarded, exchange.stream, request.headers, vendor_model),
    )
    if reply.events is not None and streams is not None:  # events come only for a stream asked for
        ended = functools.partial(services.stream_ended, slot=slot)
        return StreamRelay(exchange, streams, reply, ended, started, guard)
    exchange.timings.upstream_ms = (time.perf_counter() - started) * 1000
    return await whole_response(exchange, dialect, reply, guard)


MAX_MODEL_CHARS = 200  # the column's size
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]*")
CONTEXT_HEADER_LIMITS = {"x-proxy-subject": 200, "x-proxy-conversation": 200, "x-proxy-tags": 1000}  # column sizes


def admit_subject(exchange: Exchange) -> None:
    """`X-Proxy-Subject` names the person a request is about, and so decides consent and erasure:
    only a key trusted to assert it (`may_assert_subject`) may send it; any other gets 403 and
    the subject it claimed is not recorded."""
    assert exchange.caller is not None
    if exchange.subject is not None and not exchange.caller.limits.may_assert_subject:
        exchange.subject = None
        raise PermissionDenied(
            "This proxy API key may not name the end user: X-Proxy-Subject needs a key with may_assert_subject.",
            code="subject_not_allowed",
        )


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


async def scan(exchange: Exchange, dialect: Dialect, scanner: Scanner, vendor_model: str, budget: ScanBudget) -> bytes:
    """The `scan` stage (extract → detect → decide → transform, see `proxy.scan`), within the
    request's time budget, written into the exchange; returns the bytes to forward, or refuses
    the request when the policies block it."""
    assert exchange.body is not None
    started = time.perf_counter()
    try:
        result = await budget.run(
            len(exchange.raw_body),
            scanner.request(exchange.body, dialect, raw_body=exchange.raw_body, vendor_model=vendor_model),
        )
    except BadRequest as error:
        if error.code == "invalid_model":
            exchange.model = None  # it carries a value: not kept in the request's row either
        raise
    finally:
        exchange.timings.detect_ms = (time.perf_counter() - started) * 1000
    exchange.slots, exchange.findings, exchange.decision = result.slots, result.findings, result.decision
    exchange.pseudonyms = result.pseudonyms
    if result.unscanned:
        exchange.error = UNSCANNED
        log.warning("request %s forwarded unscanned: detection failed and policy allows it", exchange.id)
    block = result.decision.block
    if block is not None and block.rule == "settings.max_scan_chars":
        raise PayloadTooLarge(
            f"{block.message} The limit is settings.max_scan_chars in policy {block.policy}.", code="too_much_text"
        )
    refusal = result.refusal()
    if refusal is not None:
        raise refusal
    assert result.forwarded_bytes is not None
    exchange.forwarded = result.forwarded
    return result.forwarded_bytes


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


def _where(exc: BaseException) -> str:
    """The innermost frames of a traceback, without the message (which may quote request text)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
