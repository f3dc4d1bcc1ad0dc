"""Scale-out: `serve --workers N` shares one port between N processes, and separate proxy
instances sharing one PostgreSQL lose and duplicate nothing under interleaved traffic."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from openai import OpenAI
from sqlalchemy import func, select

from proxy.store.database import make_engine, upgrade
from proxy.store.tables import requests

from .conftest import PROXY_KEY
from .mock_vendor import MockVendor
from .processes import free_port, serve
from .test_faults import ALLOW_ALL, _config

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


def _instance(directory: Path, vendor: MockVendor, url: str) -> Path:
    directory.mkdir()
    policies = directory / "policies"
    policies.mkdir()
    (policies / "allow-all.yaml").write_text(ALLOW_ALL)
    return _config(directory, vendor, url, policies)


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
