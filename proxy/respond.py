"""The `respond` side of the pipeline: turn the vendor's reply (or an error) into the client's
response, restoring pseudonyms on the way, and hand the finished exchange to the recorder."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from proxy.dialects import ANSWERS, Dialect, Streams
from proxy.dialects.sse import SSEEvent, parse_sse_text
from proxy.errors import ProxyError, UpstreamError, UpstreamIncomplete
from proxy.exchange import Exchange
from proxy.response.guard import ResponseGuard
from proxy.response.process import AnswerProcessor, Filter, StreamProcessor
from proxy.response.restore import Restore, unknown_placeholders
from proxy.upstream import UpstreamReply


async def whole_response(
    exchange: Exchange, dialect: Dialect, reply: UpstreamReply, guard: ResponseGuard | None
) -> Response:
    """The client's response to a whole (non-streamed) vendor answer, pseudonyms restored."""
    exchange.http_status = reply.status_code
    if reply.status_code in (401, 403):
        # The vendor refused the company's key. Its message can quote part of that key, and a 401
        # would tell the client its own (proxy) key is wrong: report it as the proxy's problem.
        exchange.response_received = _json_or_text(reply.body)
        raise UpstreamError(f"Upstream '{exchange.upstream}' refused the proxy's credentials; tell the proxy operator.")
    if reply.status_code >= 400:
        # The vendor's own error goes back as the vendor sent it.
        exchange.status, exchange.error = "upstream_error", f"upstream answered HTTP {reply.status_code}"
        exchange.response_received = exchange.response_returned = _json_or_text(reply.body)
        return Response(reply.body, reply.status_code, headers(exchange, reply.headers), "application/json")
    try:
        body = json.loads(reply.body)
    except ValueError:
        raise UpstreamError(f"Upstream '{exchange.upstream}' answered with a body that is not JSON.") from None
    exchange.response_received = body
    exchange.response_returned = await _returned(exchange, dialect, guard, body)
    exchange.response_findings = guard.found if guard else []
    exchange.usage = dialect.usage(body)
    exchange.status = "ok"
    content = reply.body if exchange.response_returned is body else json.dumps(exchange.response_returned).encode()
    return Response(content, reply.status_code, headers(exchange, reply.headers), "application/json")


async def _returned(
    exchange: Exchange, dialect: Dialect, guard: ResponseGuard | None, body: dict[str, Any]
) -> dict[str, Any]:
    """The answer through its filters. A surface whose answers hold no text (vectors, a token
    count: not `Answers`) has nothing to restore or guard, and its answer goes back as it came."""
    answers = ANSWERS.get(dialect.name)
    if answers is None:
        return body
    returned = await AnswerProcessor(answers, filters(exchange, guard)).body(body)
    exchange.unknown_placeholders = unknown_placeholders(answers, returned)
    return returned


def error_response(exchange: Exchange, dialect: Dialect, error: ProxyError) -> Response:
    """Our error in the dialect's shape; the exchange notes status and message."""
    exchange.status, exchange.http_status, exchange.error = error.record_status, error.status_code, error.message
    body = json.dumps(dialect.error_body(error)).encode()
    return Response(body, error.status_code, headers(exchange, error.headers()), "application/json")


INCOMPLETE = "The vendor's stream ended before its final event; the answer is incomplete."


class StreamRelay(StreamingResponse):
    """Relays a vendor's SSE stream with pseudonyms restored, then says that it has ended.

    Closing the upstream call and calling `ended` happen when the response ends, however it
    ends: the stream finished, the upstream broke off, or the client hung up (even before the
    first byte, when the body generator never starts and so never reaches a `finally`). `ended`
    (`pipeline.Services.stream_ended`) gets the exchange and the work that assembles the answer
    for the record, to run off the event loop."""

    def __init__(
        self,
        exchange: Exchange,
        dialect: Streams,
        reply: UpstreamReply,
        ended: Callable[[Exchange, Callable[[], None]], None],
        started: float,
        guard: ResponseGuard | None = None,
    ) -> None:
        self.exchange, self.dialect, self.reply, self.ended = exchange, dialect, reply, ended
        self.started, self.guard = started, guard
        self.processor = StreamProcessor(dialect, filters(exchange, guard))
        # Nothing to restore and no response rules: relay the vendor's bytes as they come and
        # parse them for the record afterwards, off the event loop (see `_assemble`).
        self.passthrough = not exchange.pseudonyms and guard is None and reply.response is not None
        self.relayed: list[bytes] = []
        exchange.http_status, exchange.status = reply.status_code, "streaming"
        stream_headers = headers(exchange, reply.headers) | {"cache-control": "no-cache"}
        super().__init__(self._relay(), reply.status_code, stream_headers, media_type="text/event-stream")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._finish()

    async def _relay(self) -> AsyncIterator[bytes]:
        assert self.reply.events is not None
        finished = False
        try:
            if self.passthrough:
                async for chunk in self.reply.raw():
                    self.relayed.append(chunk)
                    yield chunk
                if not self._ended(self.relayed):
                    raise UpstreamIncomplete(INCOMPLETE)
                self.exchange.status = "ok"
                return
            async for batch in self.reply.events:
                finished = finished or any(self.dialect.stream_is_end(event) for event in batch)
                out = b"".join([sse.encode() for event in batch for sse in await self.processor.event(event)])
                if out:
                    yield out
            tail = b"".join(sse.encode() for sse in await self.processor.end())
            if tail:
                yield tail
            if not finished:
                raise UpstreamIncomplete(INCOMPLETE)
            self.exchange.status = "ok"
        except ProxyError as error:  # the upstream broke off mid-stream: say so in the stream
            self.exchange.status, self.exchange.error = error.record_status, error.message
            body = self.dialect.error_body(error)
            yield SSEEvent(json.dumps(body), self.dialect.event_name(body)).encode()

    def _ended(self, chunks: list[bytes]) -> bool:
        """Whether relayed bytes closed with the dialect's final event (read from the tail only)."""
        tail = b"".join(chunks[-16:])[-8192:].decode("utf-8", "replace")
        return any(self.dialect.stream_is_end(event) for event in parse_sse_text(tail)[-3:])

    async def _finish(self) -> None:
        exchange = self.exchange
        if exchange.status == "streaming":
            exchange.status = "client_disconnected"
        try:
            await self.reply.aclose()
        finally:  # a close that fails must not keep the stream's gate slot or lose its record
            exchange.timings.upstream_ms = (time.perf_counter() - self.started) * 1000
            exchange.timings.total_ms = exchange.timings.since_start_ms()
            exchange.response_findings = self.guard.found if self.guard else []
            self.ended(exchange, self._assemble)

    def _assemble(self) -> None:
        exchange = self.exchange
        if self.relayed:  # relayed unparsed, nothing changed: read the events now, as sent
            sent = parse_sse_text(b"".join(self.relayed).decode("utf-8", "replace"))
            received = [event for event in map(_json_object, (sse.data for sse in sent)) if event is not None]
            exchange.response_received = exchange.response_returned = self.dialect.assemble(received)
        else:
            exchange.response_received = self.dialect.assemble([json.loads(d) for d in self.processor.received])
            exchange.response_returned = self.dialect.assemble(self.processor.returned)
        exchange.usage = self.dialect.usage(exchange.response_received)
        exchange.unknown_placeholders = unknown_placeholders(self.dialect, exchange.response_returned)


def filters(exchange: Exchange, guard: ResponseGuard | None) -> list[Filter]:
    """The answer's filters, in order: restore the pseudonyms, then the response rules."""
    steps: list[Filter] = [Restore(exchange.pseudonyms)]
    if guard is not None:
        steps.append(guard)
    return steps


def _json_object(data: str) -> dict[str, Any] | None:
    try:
        event = json.loads(data)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def headers(exchange: Exchange, passed: dict[str, str]) -> dict[str, str]:
    """The vendor's headers worth passing on, plus ours."""
    result = dict(passed)
    result["x-proxy-request-id"] = exchange.id
    result["x-proxy-capture"] = exchange.capture  # what the record keeps of this request
    if exchange.decision is not None:
        result["x-proxy-decision"] = exchange.decision.kind
    if exchange.policies:
        result["x-proxy-policy"] = ",".join(exchange.policies)
    if exchange.policy_digest:
        result["x-proxy-policy-digest"] = exchange.policy_digest  # the whole set in force
    return result


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
