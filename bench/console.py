"""The console's requests page with a big store: p50/p95 of `GET /console/requests` (first page,
filtered pages, a page deep in the keyset, and a filter that matches nothing, the worst case)
against `privacy-proxy serve` in its own process, on SQLite and on PostgreSQL.

Each store is seeded with N exchanges by `bench/seed_store.py` (real record rows, bulk-inserted),
then the proxy starts on it, the bench signs in through the form like a browser, and times each
page over real HTTP.

    .venv/bin/python bench/console.py                    # 100,000 requests, SQLite and PostgreSQL
    .venv/bin/python bench/console.py --rows 5000 --databases sqlite   # a smoke run

The target is p95 <= 300 ms per page; it prints whether it is met and exits 0 either way.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/console.py` puts bench/, not the repository, on the path
    sys.path.insert(0, str(REPO))

from bench.processes import HOST, child_env, free_port, launch, wait_healthy  # noqa: E402

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
ADMIN_KEY = "bench-console-admin-key"
TARGET_P95_MS = 300.0
PAGES = {
    "newest page": {},
    "team": {"team": "support"},
    "entity type": {"entity": "EMAIL_ADDRESS"},
    "rule + model": {"rule": "default/contact", "model": "gpt-4o"},
    "day range": {"since": "DAY_START", "until": "DAY_END"},
    "no match (worst case)": {"decision": "block"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="requests in the store")
    parser.add_argument("--repeat", type=int, default=40, help="timed loads of each page")
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    results = []
    for database in args.databases:
        with _store(database, args.rows) as url:
            results += _measure(database, url, args.rows, args.repeat)
    print(f"\n{'database':<11} {'rows':>8}  {'page':<24} {'p50 ms':>8} {'p95 ms':>8} {'rows shown':>10}")
    for r in results:
        print(f"{r[0]:<11} {r[1]:>8}  {r[2]:<24} {r[3]:>8.1f} {r[4]:>8.1f} {r[5]:>10}")
    worst = max(r[4] for r in results)
    verdict = "met" if worst <= TARGET_P95_MS else "NOT met"
    print(f"\ntarget p95 <= {TARGET_P95_MS:.0f} ms: {verdict} (worst {worst:.1f} ms)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


@contextmanager
def _store(database: str, rows: int) -> Iterator[str]:
    """A migrated database holding `rows` seeded requests."""
    from bench.seed_store import fresh_postgres, seed
    from proxy.store.database import make_engine, upgrade

    with tempfile.TemporaryDirectory(prefix="pp-bench-console-") as tmp, ExitStack() as stack:
        if database == "sqlite":
            url = f"sqlite:///{tmp}/proxy.db"
            upgrade(url)
        else:
            url = stack.enter_context(fresh_postgres(POSTGRES, "pp_bench_console"))
        engine = make_engine(url)
        started = time.monotonic()
        seed(engine, rows)
        engine.dispose()
        print(f"{database}: seeded {rows} requests in {time.monotonic() - started:.0f} s", flush=True)
        yield url


def _measure(database: str, url: str, rows: int, repeat: int) -> list[tuple[str, int, str, float, float, int]]:
    with tempfile.TemporaryDirectory(prefix="pp-bench-console-serve-") as tmp, ExitStack() as stack:
        directory = Path(tmp)
        policies = directory / "policies"
        policies.mkdir()
        (policies / "allow-all.yaml").write_text("id: allow-all\nversion: 1\nrules: []\n")
        key = base64.b64encode(os.urandom(32)).decode()
        config = {
            "server": {"host": HOST},
            "database_url": url,
            "policies": str(policies),
            "upstreams": [{"name": "echo", "kind": "echo", "models": ["*"]}],
            "storage": {
                "spool_path": str(directory / "spool.jsonl"),
                "data_keys": [{"id": "k1", "env": "BENCH_DATA_KEY"}],
            },
            "detection": {"processes": 0},
        }
        path = directory / "proxy.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        port = free_port()
        env = child_env(PRIVACY_PROXY_ADMIN_KEY=ADMIN_KEY, BENCH_DATA_KEY=key)
        command = [sys.executable, "-m", "proxy", "serve", "--config", str(path), "--port", str(port)]
        server = launch(stack, f"privacy-proxy on {database}", command, port, directory / "proxy.log", env=env)
        wait_healthy(server)
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
            signed_in = client.post("/console/login", data={"key": ADMIN_KEY}, headers={"origin": server.url})
            assert signed_in.status_code == 303, signed_in.text[:200]
            day = time.strftime("%Y-%m-%dT", time.gmtime(time.time() - rows / 2))
            bounds = {"DAY_START": day + "00:00", "DAY_END": day + "23:59"}
            results = []
            pages = {**PAGES, "page 20 (keyset)": {"cursor": _cursor(client, 20)}}
            for name, params in pages.items():
                params = {k: bounds.get(v, v) for k, v in params.items()}
                times, shown = [], 0
                for _ in range(repeat + 2):
                    started = time.perf_counter()
                    response = client.get("/console/requests", params=params)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.status_code
                    shown = response.text.count('<a href="/console/requests/req')
                times = sorted(times[2:])  # the first two warm caches up
                p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                results.append((database, rows, name, statistics.median(times), p95, shown))
        return results


def _cursor(client: httpx.Client, pages: int) -> str:
    """The cursor of page `pages`, by following the next-page links as a user would."""
    path = "/console/requests"
    for _ in range(pages - 1):
        page = client.get(path).text
        start = page.index('<a href="/console/requests?') + len('<a href="')
        path = page[start : page.index('"', start)].replace("&amp;", "&")
    return str(httpx.URL(path).params["cursor"])


if __name__ == "__main__":
    main()
