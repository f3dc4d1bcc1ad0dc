"""Per-key limits and the global concurrency gate, checked right after `authenticate`.

Requests per minute are counted in this process (a sliding window). Tokens per day start from
what the database already holds for the key today and are topped up by every response this
process records; they are reread from the database every minute, so replicas sharing one
database converge on the key's real total. See docs/operations.md ("Limits") for sizing them per replica.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

import anyio

from proxy.errors import Overloaded, PermissionDenied, RateLimited
from proxy.exchange import Caller

WINDOW_SECONDS = 60.0
TOKENS_REREAD_SECONDS = 60.0


class Limiter:
    """Refuses what a key may not do: other models, too many requests, too many tokens."""

    def __init__(self, tokens_used_today: Callable[[str], int]) -> None:
        self._tokens_used_today = tokens_used_today  # blocking database read, run in a thread
        self._recent: dict[str, deque[float]] = {}
        self._tokens: dict[str, tuple[date, int, float]] = {}  # key -> (day, tokens, read at)

    async def admit(self, caller: Caller, model: str) -> None:
        limits = caller.limits
        if not caller.may_use(model):
            raise PermissionDenied(f"The proxy API key '{caller.key_name}' may not use the model '{model}'.")
        if limits.requests_per_minute:
            self._count_request(caller.key_name, limits.requests_per_minute)
        if limits.tokens_per_day:
            used = await self._tokens_today(caller.key_name)
            if used >= limits.tokens_per_day:
                raise RateLimited(
                    f"The proxy API key '{caller.key_name}' has used its {limits.tokens_per_day} tokens for today "
                    "(the day ends at midnight UTC).",
                    retry_after=_seconds_to_midnight(),
                    kind="tokens",
                )

    def charge(self, caller: Caller | None, tokens: int | None) -> None:
        """Add a finished request's tokens to its key's count for today."""
        if caller is None or not tokens or not caller.limits.tokens_per_day:
            return
        today = _today()
        day, used, read_at = self._tokens.get(caller.key_name, (today, 0, 0.0))
        if day == today:
            self._tokens[caller.key_name] = (day, used + tokens, read_at)

    def _count_request(self, key: str, per_minute: int) -> None:
        now = time.monotonic()
        recent = self._recent.setdefault(key, deque())
        while recent and now - recent[0] >= WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= per_minute:
            raise RateLimited(
                f"The proxy API key '{key}' is limited to {per_minute} requests per minute.",
                retry_after=WINDOW_SECONDS - (now - recent[0]),
            )
        recent.append(now)

    async def _tokens_today(self, key: str) -> int:
        today = _today()
        day, used, read_at = self._tokens.get(key, (today, 0, 0.0))
        if day != today or time.monotonic() - read_at >= TOKENS_REREAD_SECONDS:
            stored = await anyio.to_thread.run_sync(self._tokens_used_today, key)
            used = max(stored, used if day == today else 0)
            self._tokens[key] = (today, used, time.monotonic())
        return used


class Gate:
    """At most `limit` requests in the detect-and-forward part at once; the rest wait in line
    for up to `wait_seconds`, then get a 503. Zero means no limit."""

    def __init__(self, limit: int, wait_seconds: float) -> None:
        self._slots = anyio.CapacityLimiter(limit) if limit > 0 else None
        self._wait = wait_seconds
        self.waiting = 0

    @asynccontextmanager
    async def enter(self) -> AsyncIterator[None]:
        if self._slots is None:
            yield
            return
        acquired = False
        self.waiting += 1
        try:
            with anyio.move_on_after(self._wait):
                await self._slots.acquire()
                acquired = True
        finally:
            self.waiting -= 1
        if not acquired:
            raise Overloaded(
                f"The proxy is at its limit of {self._slots.total_tokens:g} concurrent requests; retry later."
            )
        try:
            yield
        finally:
            self._slots.release()

    @property
    def in_use(self) -> int:
        return int(self._slots.borrowed_tokens) if self._slots else 0


def _today() -> date:
    return datetime.now(UTC).date()


def _seconds_to_midnight() -> float:
    now = datetime.now(UTC)
    return 86_400 - (now.hour * 3600 + now.minute * 60 + now.second)
