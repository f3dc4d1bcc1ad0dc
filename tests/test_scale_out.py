"""Scale-out: `serve --workers N` shares one port between N processes; separate proxy instances
sharing one PostgreSQL lose and duplicate nothing under interleaved traffic, and sharing one Redis
they enforce a key's requests per minute as one proxy would."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import psycopg
import pytest
import yaml
from openai import OpenAI
from sqlalchemy import func, select

from proxy.config import hash_api_key
from proxy.store.database import make_engine, upgrade
from proxy.store.tables import requests

from .conftest import PROXY_KEY, make_config
from .mock_vendor import MockVendor
from .processes import PrivateRedis, free_port, serve
from .test_faults import ALLOW_ALL

POSTGRES = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def shared_database() -> Iterator[str]:
    name = f"pp_scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES + "/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = f"{POSTGRES}/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(POSTGRES + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _instance(directory: Path, vendor: MockVendor, url: str, **overrides: object) -> Path:
    directory.mkdir()
    policies = directory / "policies"
    policies.mkdir()
    (policies / "allow-all.yaml").write_text(ALLOW_ALL)
    config = make_config(vendor.url, directory, database_url=url, policies=str(policies), **overrides)  # type: ignore[attr-defined]
    path = directory / "proxy.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True)))
    return path


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def test_two_instances_one_with_two_workers_share_postgresql_without_losing_or_duplicating(
    tmp_path: Path, vendor: MockVendor, shared_database: str
) -> None:
    ports = [free_port(), free_port()]
    first = serve(_instance(tmp_path / "a", vendor, shared_database), ports[0], "--workers", "2")
    second = serve(_instance(tmp_path / "b", vendor, shared_database), ports[1])
    try:
        assert len(_children(first.pid)) >= 2  # uvicorn's supervisor and its two workers

        def call(n: int) -> str:
            port = ports[n % 2]  # interleaved across the two instances
            with OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=PROXY_KEY, max_retries=0) as client:
                raw = client.chat.completions.with_raw_response.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": f"request {n}"}]
                )
                return raw.headers["x-proxy-request-id"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            answered = list(pool.map(call, range(120)))
    finally:
        for process in (first, second):
            process.terminate()
            process.wait(timeout=60)
    engine = make_engine(shared_database)
    with engine.connect() as connection:
        stored = list(connection.execute(select(requests.c.id)).scalars())
        teams = connection.execute(select(func.count(func.distinct(requests.c.key_name)))).scalar_one()
    engine.dispose()
    assert len(answered) == len(set(answered)) == 120
    assert sorted(stored) == sorted(answered) and teams == 1


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    """A Redis of this test's own: the test stops it halfway."""
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _burst(ports: list[int], count: int) -> list[openai.APIStatusError | None]:
    """`count` requests spread over the replicas, 8 at a time: None for an answer, else the error."""

    def call(n: int) -> openai.APIStatusError | None:
        with OpenAI(base_url=f"http://127.0.0.1:{ports[n % 2]}/v1", api_key=PROXY_KEY, max_retries=0) as client:
            try:
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
                return None
            except openai.APIStatusError as error:
                return error

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(call, range(count)))


def _metric(ports: list[int], name: str) -> list[float]:
    """The metric's value from every worker that answered a few scrapes (each worker has its own)."""
    values = []
    for port in ports * 6:
        for line in httpx.get(f"http://127.0.0.1:{port}/metrics").text.splitlines():
            if line.startswith(name + " "):
                values.append(float(line.split()[1]))
    return values


def test_two_replicas_of_two_workers_on_one_redis_enforce_60_rpm_and_fall_back_locally_when_it_stops(
    tmp_path: Path, vendor: MockVendor, shared_database: str, redis_server: PrivateRedis
) -> None:
    overrides = {
        "keys": [{"name": "suite", "team": "qa", "sha256": hash_api_key(PROXY_KEY), "requests_per_minute": 60}],
        "limits": {"redis_url": redis_server.url, "redis_timeout": 5},  # slow is not down on a loaded machine
        "detection": {"processes": 0},
    }
    ports = [free_port(), free_port()]
    replicas = [
        serve(_instance(tmp_path / name, vendor, shared_database, **overrides), port, "--workers", "2")
        for name, port in zip("ab", ports, strict=True)
    ]
    try:
        burst = _burst(ports, 300)  # counted per process, 4 processes × 60 = 240 would pass
        redis_server.stop()
        after = _burst(ports, 20)
        fallbacks = _metric(ports, "privacy_proxy_limits_fallback_total")
        shared_up = _metric(ports, "privacy_proxy_limits_shared_up")
    finally:
        for process in replicas:
            process.terminate()
            process.wait(timeout=60)
    refused = [error for error in burst if error is not None]
    assert 60 <= len(burst) - len(refused) <= 62, len(burst) - len(refused)
    assert all(error.status_code == 429 and 1 <= int(error.response.headers["retry-after"]) <= 60 for error in refused)
    assert after == [None] * 20  # Redis gone: each process counts its own minute, nobody gets a 5xx
    assert max(fallbacks) > 0 and min(shared_up) == 0
