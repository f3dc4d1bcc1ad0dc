"""Stream chunks that arrive together are relayed as one; a break after them still surfaces."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from proxy.upstream import coalesced


async def _vendor(bursts: list[list[bytes]], fail: bool = False) -> AsyncIterator[bytes]:
    for burst in bursts:
        for chunk in burst:  # already buffered: no pause between them
            yield chunk
        await asyncio.sleep(0.01)  # the next network read
    if fail:
        raise ConnectionResetError("vendor went away")


def _collect(source: AsyncIterator[bytes]) -> list[bytes]:
    async def run() -> list[bytes]:
        return [chunk async for chunk in coalesced(source)]

    return asyncio.run(run())


def test_chunks_that_arrive_together_are_handed_on_as_one() -> None:
    bursts = [[b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"], [b"data: 4\n\n"], [b"data: [DONE]\n\n"]]
    assert _collect(_vendor(bursts)) == [b"data: 1\n\ndata: 2\n\ndata: 3\n\n", b"data: 4\n\n", b"data: [DONE]\n\n"]


def test_a_break_after_some_chunks_hands_them_on_then_raises() -> None:
    received: list[bytes] = []

    async def run() -> None:
        async for chunk in coalesced(_vendor([[b"data: 1\n\n"]], fail=True)):
            received.append(chunk)

    with pytest.raises(ConnectionResetError):
        asyncio.run(run())
    assert received == [b"data: 1\n\n"]
