"""A request's detection budget: how long its scan may take, and which detection processes a
large body may occupy.

Detection is CPU-bound and runs on a few processes. A 100 KB prompt holds one for seconds; two
of them at once would hold every process, and each small request behind them would wait that
long. So bodies above `LARGE_BODY_BYTES` queue for all but one process (with one process, for
that one), and every scan must finish within `detection.timeout`: past it the request is refused
and nothing is sent (fail closed). A scan given up on may finish in its process a little later;
`settings.max_scan_chars` bounds how long that can be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from proxy.errors import PayloadTooLarge

T = TypeVar("T")
LARGE_BODY_BYTES = 64 * 1024


class ScanBudget:
    """`detection.timeout` seconds per scan, and a lane for large bodies."""

    def __init__(self, seconds: float, processes: int) -> None:
        self.seconds = seconds
        self._large = asyncio.Semaphore(max(1, processes - 1))

    async def run(self, body_bytes: int, scan: Awaitable[T]) -> T:
        """Await `scan`, in the large lane when the body is large, refusing past the budget."""
        try:
            async with asyncio.timeout(self.seconds):
                if body_bytes <= LARGE_BODY_BYTES:
                    return await scan
                async with self._large:
                    return await scan
        except TimeoutError:
            raise PayloadTooLarge(
                f"Scanning this request for personal data took longer than the proxy's limit of {self.seconds:g} "
                "seconds (detection.timeout in proxy.yaml), so it was not sent; send less text at once.",
                code="scan_timeout",
            ) from None
