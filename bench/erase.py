"""How long `privacy-proxy erase --value` takes on a PostgreSQL store of N exchanges.

What it does:

* creates a fresh PostgreSQL database (dropped at the end, also on failure) and migrates it;
* `seed(engine, n)` writes N complete exchanges the way the recorder stores them: a requests
  row, four zlib-compressed payloads (original, forwarded, response received and returned) and
  two findings (a name and an e-mail address, each with its keyed hash). One e-mail address,
  `TARGET`, appears in `TARGET_ROWS` of them; every other value in a few dozen;
* runs the real command in-process (click's runner: config, engine, schema check, hashing,
  the batched deletes, the audit row): the dry run a few times, then `--yes` once, and prints
  the wall-clock time of each with the counts it reported.

Run it from the repository root (PostgreSQL on 127.0.0.1:5432, trust auth):

    .venv/bin/python bench/erase.py --exchanges 100000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from click.testing import CliRunner
from faker import Faker
from sqlalchemy import Engine, insert

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/erase.py` puts bench/, not the repository, on the path
    sys.path.insert(0, str(REPO))

from proxy.cli import main  # noqa: E402
from proxy.hashing import Hasher  # noqa: E402
from proxy.store.database import make_engine, upgrade  # noqa: E402
from proxy.store.tables import findings, payloads, requests  # noqa: E402

SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
HASH_KEY = "bench-hash-key"
TARGET = "alice.target@dailybugle.com"
TARGET_ROWS = 5
CHUNK = 2_000


# -- seeding: kept apart so that the export bench can share it ------------------------------------


def seed(engine: Engine, n: int, hasher: Hasher | None = None) -> None:
    """N exchanges with payloads and findings; `TARGET` is in `TARGET_ROWS` of them."""
    hasher = hasher or Hasher(HASH_KEY.encode())
    people = _people(2_000)
    for start in range(0, n, CHUNK):
        rows = [_exchange(i, people, n, hasher) for i in range(start, min(start + CHUNK, n))]
        with engine.begin() as connection:
            connection.execute(insert(requests), [row["request"] for row in rows])
            connection.execute(insert(payloads), [p for row in rows for p in row["payloads"]])
            connection.execute(insert(findings), [f for row in rows for f in row["findings"]])


def _people(count: int) -> list[tuple[str, str]]:
    fake = Faker()
    Faker.seed(7)
    names = [fake.unique.name() for _ in range(count)]
    return [(name, f"{name.lower().replace(' ', '.')}@dailybugle.com") for name in names]


def _exchange(i: int, people: list[tuple[str, str]], n: int, hasher: Hasher) -> dict[str, Any]:
    request_id = f"req_bench_{i:08d}"
    name, email = people[i % len(people)]
    if i % max(n // TARGET_ROWS, 1) == 0 and i // max(n // TARGET_ROWS, 1) < TARGET_ROWS:
        email = TARGET
    text = f"Please draft a friendly reply to {name} ({email}) about the delayed order and offer a refund."
    stand_in = "Please draft a friendly reply to <PERSON_1> (<EMAIL_ADDRESS_1>) about the delayed order."
    answer = f"Dear {name}, we are sorry about the delay. A refund is on its way."
    bodies = {
        "original": {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]},
        "forwarded": {"model": "gpt-4o", "messages": [{"role": "user", "content": stand_in}]},
        "response_received": {"choices": [{"message": {"role": "assistant", "content": "Dear <PERSON_1>, ..."}}]},
        "response_returned": {"choices": [{"message": {"role": "assistant", "content": answer}}]},
    }
    created_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i)
    return {
        "request": {
            "id": request_id,
            "created_at": created_at,
            "key_name": "bench",
            "team": "support",
            "endpoint": "openai-chat",
            "upstream": "openai",
            "model": "gpt-4o",
            "stream": False,
            "status": "ok",
            "http_status": 200,
            "decision": "transform",
            "subject": f"customer-{i % 10_000}",
            "findings_count": 2,
            "unknown_placeholders": 0,
        },
        "payloads": [
            {"request_id": request_id, "kind": kind, "encoding": "zlib", "data": _pack(body), "created_at": created_at}
            for kind, body in bodies.items()
        ],
        "findings": [
            _finding(request_id, "PERSON", text, name, hasher),
            _finding(request_id, "EMAIL_ADDRESS", text, email, hasher),
        ],
    }


def _pack(body: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(body).encode(), 6)


def _finding(request_id: str, entity: str, text: str, value: str, hasher: Hasher) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "slot": "messages.0.content",
        "start_offset": text.index(value),
        "end_offset": text.index(value) + len(value),
        "entity_type": entity,
        "score": 1.0,
        "action": "pseudonymize",
        "rule": "contact-details",
        "policy": "default@2",
        "value_hash": hasher.digest(value),
        "mode": "enforce",
    }


# -- measuring ------------------------------------------------------------------------------------


def timed_erase(url: str, *extra: str) -> tuple[float, str]:
    """Seconds and output of one `privacy-proxy erase --value TARGET` run."""
    env = {"DATABASE_URL": url, "PRIVACY_PROXY_HASH_KEY": HASH_KEY, "PRIVACY_PROXY_CONFIG": ""}
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["erase", "--value", TARGET, *extra], env=env)
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"erase failed: {result.output}")
    return elapsed, result.output.splitlines()[0]


def main_bench(n: int, dry_runs: int) -> None:
    name = f"pp_bench_erase_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER + "/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = f"{SERVER}/{name}"
    try:
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        seed(engine, n)
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
        engine.dispose()
        print(f"seeded {n} exchanges ({4 * n} payloads, {2 * n} findings) in {time.perf_counter() - started:.1f} s")
        dry = [timed_erase(url) for _ in range(dry_runs)]
        print(f"erase --value (dry run), median of {dry_runs}: {statistics.median(t for t, _ in dry) * 1000:.0f} ms")
        print(f"  {dry[0][1]}")
        elapsed, output = timed_erase(url, "--yes")
        print(f"erase --value --yes: {elapsed * 1000:.0f} ms")
        print(f"  {output}")
    finally:
        with psycopg.connect(SERVER + "/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=100_000, help="exchanges to seed (default 100000)")
    parser.add_argument("--dry-runs", type=int, default=5, help="dry runs to time (default 5)")
    arguments = parser.parse_args()
    main_bench(arguments.exchanges, arguments.dry_runs)
