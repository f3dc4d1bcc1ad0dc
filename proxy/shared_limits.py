"""Per-key limits counted in Redis, so R replicas × W workers enforce exactly the configured figures.

One Lua script checks a key's tokens for today and its requests in the last minute and takes a
request slot, atomically and in one round trip; Redis's own clock (`TIME`) is the window's clock, so
replicas with skewed clocks agree. Tokens are checked first: a request refused for tokens takes no
slot of the minute. Today's token count is seeded from the database the first time a key is seen
that day (the records are the truth; Redis is a fast copy), then topped up as responses are recorded.

Any Redis failure surfaces as `SharedUnavailable`, and after one the limiter does not try Redis
again for `RETRY_SECONDS`, so a dead Redis costs one timeout per second rather than one per request.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from proxy.config import LimitsConfig

RETRY_SECONDS = 1.0
TOKENS_TTL_SECONDS = 2 * 86_400  # a day's count outlives its day, then Redis drops it

# KEYS[1]: the key's request window (sorted set of request ids scored by time in ms)
# KEYS[2]: the key's tokens used today
# ARGV: requests per minute (0: none), tokens per day (0: none), a unique request id, window in ms
# Returns {0, 0} admitted; {1, ms until a slot frees} too many requests; {2, used} out of tokens;
# {3, 0} today's tokens are not known yet (seed them from the database, then ask again).
ADMIT = """
local rpm, tokens, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
if tokens > 0 then
  local used = redis.call('GET', KEYS[2])
  if not used then return {3, 0} end
  if tonumber(used) >= tokens then return {2, tonumber(used)} end
end
if rpm > 0 then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  if redis.call('ZCARD', KEYS[1]) >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {1, tonumber(oldest[2]) + window - now}
  end
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
end
return {0, 0}
"""

# Add tokens to today's count only if it was seeded: an unseeded count is read from the database,
# which will hold this response's record too.
CHARGE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return -1
"""


class SharedUnavailable(Exception):
    """Redis could not be asked; the limiter applies `limits.when_unreachable`."""


class Verdict:
    """What the admit script answered."""

    ADMITTED, TOO_MANY_REQUESTS, OUT_OF_TOKENS, TOKENS_UNKNOWN = 0, 1, 2, 3

    def __init__(self, kind: int, value: int) -> None:
        self.kind, self.value = kind, value


class SharedCounts:
    """The Redis side of the limiter: one admit script and one charge script per key."""

    def __init__(self, config: LimitsConfig) -> None:
        assert config.redis_url is not None
        self._prefix = config.redis_prefix
        self._client = redis.Redis.from_url(
            config.redis_url,
            socket_timeout=config.redis_timeout,
            socket_connect_timeout=config.redis_timeout,
        )
        self._admit = self._client.register_script(ADMIT)
        self._charge = self._client.register_script(CHARGE)
        self._retry_at = 0.0
        self.up = False  # the last call reached Redis

    async def admit(self, key: str, per_minute: int, tokens_per_day: int, today: date, window_ms: int) -> Verdict:
        """Check tokens, then take a request slot of the minute (if both limits allow)."""
        keys = [self._key("requests", key), self._key("tokens", key, today)]
        args: list[int | str] = [per_minute, tokens_per_day, uuid.uuid4().hex, window_ms]
        kind, value = await self._call(lambda: self._admit(keys=keys, args=args))
        return Verdict(int(kind), int(value))

    async def seed_tokens(self, key: str, today: date, used: int) -> None:
        """Today's count as the database has it, unless another replica set it first."""
        name = self._key("tokens", key, today)
        await self._call(lambda: self._client.set(name, used, nx=True, ex=TOKENS_TTL_SECONDS))

    async def charge(self, key: str, today: date, tokens: int) -> None:
        name = self._key("tokens", key, today)
        await self._call(lambda: self._charge(keys=[name], args=[tokens]))

    async def aclose(self) -> None:
        await self._client.aclose()

    def _key(self, kind: str, key: str, day: date | None = None) -> str:
        return f"{self._prefix}{kind}:{key}" + (f":{day.isoformat()}" if day else "")

    async def _call(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """Make one Redis call, mapping every failure (and the back-off after one) to `SharedUnavailable`."""
        if time.monotonic() < self._retry_at:
            raise SharedUnavailable("Redis failed a moment ago")
        try:
            result = await call()
        except (RedisError, OSError) as exc:
            self.up = False
            self._retry_at = time.monotonic() + RETRY_SECONDS
            raise SharedUnavailable(type(exc).__name__) from None
        self.up = True
        return result
