"""Shared limits: several limiters (as several replicas would) counting one key in a real Redis,
what happens when Redis is unreachable, and the same through the proxy driven by the SDK."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import openai
import pytest
import redis
import time_machine

from proxy.config import KeyLimits, LimitsConfig, hash_api_key
from proxy.errors import Overloaded, RateLimited
from proxy.exchange import Caller
from proxy.limits import Limiter

from .conftest import PROXY_KEY, StartProxy
from .mock_vendor import MockVendor
from .processes import PrivateRedis, free_port

MACHINE_REDIS = "redis://127.0.0.1:6379/0"
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def private_redis() -> Iterator[LimitsConfig]:
    """The machine's Redis under a key prefix of this test's own; its keys are deleted afterwards.
    `.ci/run` starts Redis: without it these tests fail rather than skip."""
    # A generous timeout: on a loaded test machine a slow answer must not count as Redis being down.
    config = LimitsConfig(redis_url=MACHINE_REDIS, redis_prefix=f"pp-test-{uuid.uuid4().hex[:12]}:", redis_timeout=5)
    yield config
    with redis.Redis.from_url(MACHINE_REDIS) as client:
        for name in client.scan_iter(match=config.redis_prefix + "*"):
            client.delete(name)


def _caller(**limits: Any) -> Caller:
    return Caller(key_name="shared", team="qa", limits=KeyLimits(**limits))


async def _outcomes(limiter: Limiter, caller: Caller, count: int) -> list[RateLimited | None]:
    results: list[RateLimited | None] = []
    for _ in range(count):
        try:
            await limiter.admit(caller, "gpt-4o-mini")
            results.append(None)
        except RateLimited as refused:
            results.append(refused)
    return results


def _with_limiters(
    config: LimitsConfig, count: int, body: Callable[[list[Limiter]], Awaitable[Any]], tokens_in_db: int = 0
) -> Any:
    """Run `body` with `count` limiters on one Redis, as `count` processes would have them."""

    async def run() -> Any:
        limiters = [Limiter(lambda key: tokens_in_db, config) for _ in range(count)]
        try:
            return await body(limiters)
        finally:
            for limiter in limiters:
                await limiter.aclose()

    return asyncio.run(run())


def test_four_limiters_sharing_redis_admit_exactly_the_configured_requests_per_minute(
    private_redis: LimitsConfig,
) -> None:
    caller = _caller(requests_per_minute=10)

    async def body(limiters: list[Limiter]) -> list[RateLimited | None]:
        results = await asyncio.gather(*(_outcomes(limiter, caller, 6) for limiter in limiters))
        return [outcome for per_limiter in results for outcome in per_limiter]

    outcomes = _with_limiters(private_redis, 4, body)
    refused = [outcome for outcome in outcomes if outcome is not None]
    assert len(outcomes) - len(refused) == 10 and len(refused) == 14
    assert all(50 <= refusal.retry_after <= 60 and refusal.type == "requests" for refusal in refused)


def test_tokens_charged_on_one_replica_refuse_the_key_on_another(private_redis: LimitsConfig) -> None:
    caller = _caller(tokens_per_day=100)

    async def body(limiters: list[Limiter]) -> list[RateLimited | None]:
        first, second = limiters
        await first.admit(caller, "gpt-4o-mini")  # seeds today's count from the database: 90
        await first.charge(caller, 15)
        return await _outcomes(second, caller, 1)

    with time_machine.travel(datetime.now(UTC).replace(hour=12), tick=True):
        [refusal] = _with_limiters(private_redis, 2, body, tokens_in_db=90)
    assert refusal is not None and refusal.type == "tokens" and "tokens for today" in refusal.message


def test_a_request_refused_for_tokens_takes_no_request_slot(private_redis: LimitsConfig) -> None:
    caller = _caller(requests_per_minute=2, tokens_per_day=50)

    async def body(limiters: list[Limiter]) -> int:
        [limiter] = limiters
        outcomes = await _outcomes(limiter, caller, 5)
        assert all(outcome is not None and outcome.type == "tokens" for outcome in outcomes)
        with redis.Redis.from_url(MACHINE_REDIS) as client:
            return int(client.zcard(private_redis.redis_prefix + "requests:shared"))

    assert _with_limiters(private_redis, 1, body, tokens_in_db=80) == 0


def test_without_redis_the_local_limit_applies_and_the_fallback_is_counted() -> None:
    unreachable = LimitsConfig(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    caller = _caller(requests_per_minute=2)

    async def body(limiters: list[Limiter]) -> tuple[list[RateLimited | None], int, bool]:
        [limiter] = limiters
        return await _outcomes(limiter, caller, 3), limiter.fallbacks, limiter.shared_up

    outcomes, fallbacks, up = _with_limiters(unreachable, 1, body)
    assert outcomes[:2] == [None, None] and outcomes[2] is not None  # counted in this process
    assert fallbacks == 3 and up is False


def test_without_redis_and_when_unreachable_refuse_the_request_gets_503() -> None:
    unreachable = LimitsConfig(redis_url=f"redis://127.0.0.1:{free_port()}/0", when_unreachable="refuse")

    async def body(limiters: list[Limiter]) -> None:
        await limiters[0].admit(_caller(requests_per_minute=2), "gpt-4o-mini")

    with pytest.raises(Overloaded, match="shared limits"):
        _with_limiters(unreachable, 1, body)


def test_the_limiter_goes_back_to_redis_once_it_answers_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("proxy.shared_limits.RETRY_SECONDS", 0.2)
    server = PrivateRedis()
    server.start()
    caller = _caller(requests_per_minute=100)

    async def body(limiters: list[Limiter]) -> list[tuple[bool, int]]:
        [limiter] = limiters
        seen = []
        for step in (lambda: None, server.stop, server.start):
            step()
            await asyncio.sleep(0.3)  # past the back-off after a failure
            await limiter.admit(caller, "gpt-4o-mini")
            seen.append((limiter.shared_up, limiter.fallbacks))
        return seen

    try:
        seen = _with_limiters(LimitsConfig(redis_url=server.url, redis_timeout=5), 1, body)
    finally:
        server.stop()
    assert seen == [(True, 0), (False, 1), (True, 1)]


def test_a_key_without_limits_never_asks_redis() -> None:
    unreachable = LimitsConfig(redis_url=f"redis://127.0.0.1:{free_port()}/0", when_unreachable="refuse")

    async def body(limiters: list[Limiter]) -> int:
        await limiters[0].admit(_caller(), "gpt-4o-mini")
        return limiters[0].fallbacks

    assert _with_limiters(unreachable, 1, body) == 0


def test_two_proxies_on_one_redis_share_a_keys_requests_per_minute(
    start_proxy: StartProxy, vendor: MockVendor, private_redis: LimitsConfig
) -> None:
    limits = private_redis.model_dump(mode="json")
    keys = [{"name": "suite", "team": "qa", "sha256": hash_api_key(PROXY_KEY), "requests_per_minute": 3}]
    with start_proxy(limits=limits, keys=keys) as first, start_proxy(limits=limits, keys=keys) as second:
        answered, refused = 0, []
        for n in range(6):
            try:
                (first, second)[n % 2].client().chat.completions.create(model="gpt-4o-mini", messages=HELLO)
                answered += 1
            except openai.RateLimitError as error:
                refused.append(error)
        metrics = [httpx.get(proxy.url + "/metrics").text for proxy in (first, second)]
    assert answered == 3 and len(refused) == 3 and len(vendor.received) == 3
    assert all(1 <= int(error.response.headers["retry-after"]) <= 60 for error in refused)
    assert all("privacy_proxy_limits_shared_up 1.0" in text for text in metrics)
    assert all("privacy_proxy_limits_fallback_total 0.0" in text for text in metrics)
