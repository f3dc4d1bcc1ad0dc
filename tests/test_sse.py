"""The SSE framing: events come out whole, however the network splits the bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hypothesis import given
from hypothesis import strategies as st

from proxy.dialects.sse import SSEEvent, parse_sse

STREAM = 'data: {"a": 1}\r\n\r\n: keep-alive comment\n\nevent: ping\ndata: {}\n\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n'
EVENTS = [SSEEvent('{"a": 1}'), SSEEvent("{}", "ping"), SSEEvent("line one\nline two"), SSEEvent("[DONE]")]


def _parse(chunks: list[str]) -> list[SSEEvent]:
    async def source() -> AsyncIterator[str]:
        for chunk in chunks:
            yield chunk

    async def collect() -> list[SSEEvent]:
        return [event async for batch in parse_sse(source()) for event in batch]

    return asyncio.run(collect())


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=10))
def test_events_survive_any_split_of_the_stream(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(STREAM)]
    assert _parse([STREAM[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]) == EVENTS


def test_a_last_event_without_its_blank_line_is_still_delivered() -> None:
    assert _parse(['data: {"a": 1}\n\ndata: tail']) == [SSEEvent('{"a": 1}'), SSEEvent("tail")]


def test_encoding_round_trips() -> None:
    assert _parse(["".join(event.encode().decode() for event in EVENTS)]) == EVENTS
