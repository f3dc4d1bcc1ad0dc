"""Per-key limits and the global concurrency gate, checked once the body is read and the model name checked.

With `limits.redis_url` set, requests per minute and tokens per day are counted in Redis and
shared by every replica and worker (`proxy.shared_limits`). Without it, or while Redis is
unreachable and `limits.when_unreachable` is `local`, each process counts alone: requests per
minute in a sliding window; tokens per day from what the database holds for the key today, topped
up by every response this process records and reread every minute. Tokens are checked before
requests, so a request refused for tokens takes no slot of the minute. See docs/operations.md ("Limits").
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime

import anyio

from proxy.config import KeyLimits, LimitsConfig
from proxy.errors import Overloaded, PermissionDenied, RateLimited
from proxy.exchange import Caller
from proxy.shared_limits import SharedCounts, SharedUnavailable, Verdict

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
TOKENS_REREAD_SECONDS = 60.0


class Limiter:
    """Refuses what a key may not do: other models, too many requests, too many tokens."""

    def __init__(self, tokens_used_today: Callable[[str], int], config: LimitsConfig | None = None) -> None:
        self._tokens_used_today = tokens_used_today  # blocking database read, run in a thread
        self._config = config or LimitsConfig()
        self._local = LocalCounts(tokens_used_today)
        self.shared = SharedCounts(self._config) if self._config.redis_url else None
        self.fallbacks = 0  # requests whose shared limits could not be checked

    async def admit(self, caller: Caller, model: str) -> None:
        if not caller.may_use(model):
            # The model is not repeated: a model name is client text like any other (#16).
            raise PermissionDenied(f"The proxy API key '{caller.key_name}' may not use the requested model.")
        limits = caller.limits
        if not (limits.requests_per_minute or limits.tokens_per_day):
            return
        if self.shared is not None:
            try:
                return await self._admit_shared(self.shared, caller.key_name, limits)
            except SharedUnavailable:
                self._fall_back()
        await self._local.admit(caller.key_name, limits)

    async def charge(self, caller: Caller | None, tokens: int | None) -> None:
        """Add a finished request's tokens to its key's count for today."""
        if caller is None or not tokens or not caller.limits.tokens_per_day:
            return
        self._local.charge(caller.key_name, tokens)
        if self.shared is not None:
            try:
                await self.shared.charge(caller.key_name, _today(), tokens)
            except SharedUnavailable:  # already counted and logged by `admit`'s fallback
                log.debug("could not add tokens to the shared count (Redis unreachable)")

    @property
    def shared_up(self) -> bool:
        return self.shared is not None and self.shared.up

    async def aclose(self) -> None:
        if self.shared is not None:
            await self.shared.aclose()

    async def _admit_shared(self, shared: SharedCounts, key: str, limits: KeyLimits) -> None:
        today = _today()
        per_minute, per_day = limits.requests_per_minute or 0, limits.tokens_per_day or 0
        verdict = await shared.admit(key, per_minute, per_day, today, int(WINDOW_SECONDS * 1000))
        if verdict.kind == Verdict.TOKENS_UNKNOWN:
            used = await anyio.to_thread.run_sync(self._tokens_used_today, key)
            await shared.seed_tokens(key, today, used)
            verdict = await shared.admit(key, per_minute, per_day, today, int(WINDOW_SECONDS * 1000))
        if verdict.kind == Verdict.OUT_OF_TOKENS:
            raise _out_of_tokens(key, per_day)
        if verdict.kind == Verdict.TOO_MANY_REQUESTS:
            raise _too_many_requests(key, per_minute, verdict.value / 1000)

    def _fall_back(self) -> None:
        """Redis is unreachable: count locally (and say so in the metrics and the log), or refuse."""
        self.fallbacks += 1
        if self._config.when_unreachable == "refuse":
            raise Overloaded("The proxy cannot check this key's shared limits right now; retry later.")
        if self.fallbacks == 1 or self.fallbacks % 1000 == 0:
            log.warning("Redis unreachable: limits counted per process (%d requests so far)", self.fallbacks)


class LocalCounts:
    """This process's own counts: a sliding minute per key, and tokens per key for today."""

    def __init__(self, tokens_used_today: Callable[[str], int]) -> None:
        self._tokens_used_today = tokens_used_today
        self._recent: dict[str, deque[float]] = {}
        self._tokens: dict[str, tuple[date, int, float]] = {}  # key -> (day, tokens, read at)

    async def admit(self, key: str, limits: KeyLimits) -> None:
        if limits.tokens_per_day and await self._tokens_today(key) >= limits.tokens_per_day:
            raise _out_of_tokens(key, limits.tokens_per_day)
        if limits.requests_per_minute:
            self._count_request(key, limits.requests_per_minute)

    def charge(self, key: str, tokens: int) -> None:
        today = _today()
        day, used, read_at = self._tokens.get(key, (today, 0, 0.0))
        if day == today:
            self._tokens[key] = (day, used + tokens, read_at)

    def _count_request(self, key: str, per_minute: int) -> None:
        now = time.monotonic()
        recent = self._recent.setdefault(key, deque())
        while recent and now - recent[0] >= WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= per_minute:
            raise _too_many_requests(key, per_minute, WINDOW_SECONDS - (now - recent[0]))
        recent.append(now)

    async def _tokens_today(self, key: str) -> int:
        today = _today()
        day, used, read_at = self._tokens.get(key, (today, 0, 0.0))
        if day != today or time.monotonic() - read_at >= TOKENS_REREAD_SECONDS:
            stored = await anyio.to_thread.run_sync(self._tokens_used_today, key)
            used = max(stored, used if day == today else 0)
            self._tokens[key] = (today, used, time.monotonic())
        return used


def _too_many_requests(key: str, per_minute: int, retry_after: float) -> RateLimited:
    return RateLimited(
        f"The proxy API key '{key}' is limited to {per_minute} requests per minute.",
        retry_after=retry_after,
    )


def _out_of_tokens(key: str, per_day: int) -> RateLimited:
    return RateLimited(
        f"The proxy API key '{key}' has used its {per_day} tokens for today (the day ends at midnight UTC).",
        retry_after=_seconds_to_midnight(),
        kind="tokens",
    )


class GateSlot:
    """One place inside the gate; `release` is safe to call more than once."""

    def __init__(self, limiter: anyio.CapacityLimiter | None) -> None:
        self._limiter = limiter

    def release(self) -> None:
        if self._limiter is not None:
            # On behalf of this object: a stream's slot is released by whichever task ends the stream.
            self._limiter.release_on_behalf_of(self)
            self._limiter = None


class Gate:
    """At most `limit` requests in the detect-and-forward part at once, streams counted until they
    end; the rest wait in line for up to `wait_seconds`, then get a 503. Zero means no limit."""

    def __init__(self, limit: int, wait_seconds: float) -> None:
        self._slots = anyio.CapacityLimiter(limit) if limit > 0 else None
        self._wait = wait_seconds
        self.waiting = 0

    async def acquire(self) -> GateSlot:
        """Wait for a slot; the caller releases it (a stream, when it ends)."""
        if self._slots is None:
            return GateSlot(None)
        slot = GateSlot(self._slots)
        acquired = False
        self.waiting += 1
        try:
            with anyio.move_on_after(self._wait):
                await self._slots.acquire_on_behalf_of(slot)
                acquired = True
        finally:
            self.waiting -= 1
        if not acquired:
            raise Overloaded(
                f"The proxy is at its limit of {self._slots.total_tokens:g} concurrent requests; retry later."
            )
        return slot

    @property
    def in_use(self) -> int:
        return int(self._slots.borrowed_tokens) if self._slots else 0


def _today() -> date:
    return datetime.now(UTC).date()


def _seconds_to_midnight() -> float:
    now = datetime.now(UTC)
    return 86_400 - (now.hour * 3600 + now.minute * 60 + now.second)
