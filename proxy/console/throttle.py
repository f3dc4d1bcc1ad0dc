"""Slowing down guessing at the console's sign-in: after `MAX_FAILURES` refused keys from one
client within `WINDOW_SECONDS`, that client's sign-ins are refused (429, with Retry-After)
until the oldest failure leaves the window, whatever key it sends.

The client is the peer address uvicorn reports: behind a reverse proxy on the same host it is
the `X-Forwarded-For` address (uvicorn trusts that header from `FORWARDED_ALLOW_IPS`, by default
127.0.0.1). Counts live in the worker's memory: a key guesser spread over N workers gets at
most N times the allowance, still far too few guesses for a random admin key.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque

MAX_FAILURES = 5
WINDOW_SECONDS = 300.0
MAX_CLIENTS = 10_000  # bounds memory under a spray from many addresses: the stalest are forgotten


class SignInThrottle:
    """Refused sign-ins per client, in a sliding window."""

    def __init__(self) -> None:
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None when it may try now."""
        failures = self._recent(client)
        if len(failures) < MAX_FAILURES:
            return None
        return max(1, math.ceil(failures[0] + WINDOW_SECONDS - time.monotonic()))

    def failed(self, client: str) -> None:
        """Count one refused key from `client`."""
        self._recent(client).append(time.monotonic())
        self._failures.move_to_end(client)
        while len(self._failures) > MAX_CLIENTS:
            self._failures.popitem(last=False)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= time.monotonic() - WINDOW_SECONDS:
            failures.popleft()
        return failures
