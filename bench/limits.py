"""The cost of a shared limit check: p50 and p99 of `Limiter.admit` with Redis against without it.

A key limited to requests per minute (high enough never to refuse) and tokens per day is
admitted `--requests` times, one after another, by a limiter counting in Redis (one Lua script
call per request, as every replica would make) and by one counting in this process. The
difference is what sharing limits adds to each request. Redis is `--redis` (default: the
machine's, on loopback), under a key prefix of this run's own, deleted at the end.

    .venv/bin/python bench/limits.py                    # 5,000 checks
    .venv/bin/python bench/limits.py --requests 500     # CI smoke run

The target is <= 0.5 ms added at p50 on loopback; it prints whether it is met and exits 0 either way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/limits.py` puts bench/, not the repository, on the path
    sys.path.insert(0, str(REPO))

from proxy.config import KeyLimits, LimitsConfig  # noqa: E402
from proxy.exchange import Caller  # noqa: E402
from proxy.limits import Limiter  # noqa: E402

TARGET_P50_MS = 0.5


async def _timings(limiter: Limiter, caller: Caller, requests: int) -> list[float]:
    for _ in range(20):  # warm up: connection, script cache, today's token count seeded
        await limiter.admit(caller, "gpt-4o-mini")
    millis = []
    for _ in range(requests):
        started = time.perf_counter()
        await limiter.admit(caller, "gpt-4o-mini")
        millis.append((time.perf_counter() - started) * 1000)
    return millis


async def _measure(redis_url: str, requests: int) -> dict[str, list[float]]:
    caller = Caller("bench", "bench", KeyLimits(requests_per_minute=10_000_000, tokens_per_day=10**12))
    # A generous timeout: a stall on a loaded machine must show in p99, not as a fallback.
    config = LimitsConfig(redis_url=redis_url, redis_prefix=f"pp-bench-{uuid.uuid4().hex[:10]}:", redis_timeout=5)
    shared = Limiter(lambda key: 0, config)
    try:
        results = {"redis": await _timings(shared, caller, requests)}
        assert shared.fallbacks == 0, "Redis was unreachable: nothing shared was measured"
    finally:
        await shared.aclose()
        with redis.Redis.from_url(redis_url) as client:
            for name in client.scan_iter(match=config.redis_prefix + "*"):
                client.delete(name)
    results["local"] = await _timings(Limiter(lambda key: 0), caller, requests)
    return results


def _percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    results = asyncio.run(_measure(args.redis, args.requests))
    print(f"\n{'limiter':<8} {'checks':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for name, millis in results.items():
        print(f"{name:<8} {len(millis):>7} {_percentile(millis, 0.5):>8.3f} {_percentile(millis, 0.99):>8.3f}")
    added = {q: _percentile(results["redis"], q) - _percentile(results["local"], q) for q in (0.5, 0.99)}
    verdict = "met" if added[0.5] <= TARGET_P50_MS else "NOT met"
    print(f"\nadded by sharing limits in Redis: p50 {added[0.5]:.3f} ms, p99 {added[0.99]:.3f} ms")
    print(f"target <= {TARGET_P50_MS} ms added at p50: {verdict}")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
