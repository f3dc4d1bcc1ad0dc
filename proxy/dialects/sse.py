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


async def parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[SSEEvent]:
    """Events from a stream of lines; comments and unknown fields are dropped, as the spec says."""
    data: list[str] = []
    event: str | None = None
    async for line in lines:
        if line == "":
            if data:
                yield SSEEvent("\n".join(data), event)
            data, event = [], None
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if data:
        yield SSEEvent("\n".join(data), event)
