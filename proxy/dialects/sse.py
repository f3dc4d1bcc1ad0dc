"""Server-sent events, the framing both vendors stream in (https://html.spec.whatwg.org/#server-sent-events)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass
class SSEEvent:
    data: str
    event: str | None = None

    def encode(self) -> bytes:
        head = f"event: {self.event}\n" if self.event else ""
        body = "".join(f"data: {line}\n" for line in self.data.split("\n"))
        return (head + body + "\n").encode()


async def parse_sse(chunks: AsyncIterator[str]) -> AsyncIterator[list[SSEEvent]]:
    """The complete events in each chunk of text as it arrives.

    Events that arrive together are handed on together, so the proxy can answer them with one
    write instead of one per event (a stream has dozens of small events)."""
    buffer = ""
    async for chunk in chunks:
        buffer += chunk
        # A "\r" at the very end may be the first half of a "\r\n" still on its way.
        complete, held = (buffer[:-1], "\r") if buffer.endswith("\r") else (buffer, "")
        blocks = complete.replace("\r\n", "\n").replace("\r", "\n").split("\n\n")
        buffer = blocks.pop() + held
        events = [event for block in blocks if (event := _parse_block(block)) is not None]
        if events:
            yield events
    tail = _parse_block(buffer.replace("\r\n", "\n").strip("\n"))
    if tail is not None:
        yield [tail]


def parse_sse_text(text: str) -> list[SSEEvent]:
    """Every event in a whole stream's text (a relayed stream, parsed afterwards for the record)."""
    blocks = text.replace("\r\n", "\n").replace("\r", "\n").split("\n\n")
    return [event for block in blocks if (event := _parse_block(block.strip("\n"))) is not None]


def _parse_block(block: str) -> SSEEvent | None:
    """One event from its lines; comments and unknown fields are dropped, as the spec says."""
    data: list[str] = []
    event: str | None = None
    for line in block.split("\n"):
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    return SSEEvent("\n".join(data), event) if data else None
