"""The streamed response records its exchange however it ends, and closes the upstream call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from proxy.dialects.openai_chat import OpenAIChat
from proxy.dialects.sse import SSEEvent
from proxy.exchange import Exchange
from proxy.respond import StreamRelay
from proxy.upstream import UpstreamReply


class _Recorder:
    def __init__(self) -> None:
        self.submitted: list[Exchange] = []

    def ended(self, exchange: Exchange, assemble: Callable[[], None]) -> None:
        assemble()  # what `Services.stream_ended` has a worker thread do first
        self.submitted.append(exchange)


class _Reply(UpstreamReply):
    closed = False

    async def aclose(self) -> None:
        self.closed = True


async def _events() -> AsyncIterator[list[SSEEvent]]:
    yield OpenAIChat().echo_events("gpt-4o", "Hello <PERSON_1>", chunk_chars=4)


def _run(send_fails_on: int) -> tuple[Exchange, _Reply, list[bytes]]:
    exchange = Exchange(endpoint="openai-chat", pseudonyms={"<PERSON_1>": "Ada"})
    reply = _Reply(200, events=_events())
    recorder = _Recorder()
    relay = StreamRelay(exchange, OpenAIChat(), reply, recorder.ended, 0.0)
    sent: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        if len(sent) == send_fails_on:
            raise OSError("client went away")
        sent.append(message.get("body", b""))

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {}

    scope = {"type": "http", "asgi": {"spec_version": "2.4"}}
    try:
        asyncio.run(relay(scope, receive, send))
    except Exception:
        pass
    assert recorder.submitted == [exchange]
    return exchange, reply, sent


def test_client_gone_before_the_first_byte_is_still_recorded_and_upstream_closed() -> None:
    exchange, reply, sent = _run(send_fails_on=0)
    assert sent == [] and reply.closed
    assert exchange.status == "client_disconnected"


def test_finished_stream_is_recorded_with_both_sides() -> None:
    exchange, reply, sent = _run(send_fails_on=-1)
    assert reply.closed and exchange.status == "ok" and sent[-1] == b""  # the body was closed properly
    assert exchange.response_received["choices"][0]["message"]["content"] == "Hello <PERSON_1>"
    assert exchange.response_returned["choices"][0]["message"]["content"] == "Hello Ada"
