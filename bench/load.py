"""Throughput under concurrency: requests/s and latency at 32 concurrent connections, through
`privacy-proxy serve --workers 1` and `--workers 2`, detection on (the shipped policies).

    .venv/bin/python -m bench.load                      # 640 requests per row
    .venv/bin/python -m bench.load --requests 64        # a smoke run (CI)

Each request body is the 1.5 KB six-message chat of bench/latency.py with a different fake
customer every time (bench/bodies.py), so no cache can flatter the numbers. The mock vendor runs
in its own process; the load generator (httpx, asyncio) runs in this one and competes for the
same cores, as a co-located client would. Records go to SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.bodies import Bodies
from bench.latency import percentile
from bench.processes import HOST, REPO, start_proxy, start_vendor, wait_healthy


async def load(url: str, total: int, concurrency: int) -> dict[str, Any]:
    """`concurrency` connections sending `total` requests between them, as fast as answered."""
    latencies: list[float] = []
    errors = 0
    next_index = 0
    bodies = Bodies()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120, trust_env=False) as client:

        async def connection() -> None:
            nonlocal next_index, errors
            while next_index < total:
                next_index += 1
                body = bodies.chat(False)  # made before the clock starts
                started = time.perf_counter()
                response = await client.post(
                    "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
                )
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code != 200

        for _ in range(concurrency):  # warm every connection (and every worker) first
            await client.post("/v1/chat/completions", content=bodies.chat(False))
        started = time.perf_counter()
        await asyncio.gather(*(connection() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests": total,
        "errors": errors,
        "rps": total / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }


def run(total: int, concurrency: int) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        vendor = start_vendor(stack, tmp)
        wait_healthy(vendor)
        for workers in (1, 2):
            with ExitStack() as proxy_stack:
                server = start_proxy(
                    proxy_stack,
                    f"--workers {workers}",
                    tmp / f"workers-{workers}",
                    vendor.url,
                    REPO / "policies",
                    workers,
                )
                wait_healthy(server)
                time.sleep(2 if workers > 1 else 0)  # let every worker finish loading spaCy
                rows.append({"workers": workers, **asyncio.run(load(server.url, total, concurrency))})
    return rows


def render(rows: list[dict[str, Any]], concurrency: int) -> str:
    lines = [
        f"{concurrency} concurrent connections, detection on, {rows[0]['requests']} requests per row ({HOST})",
        f"{'workers':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}",
    ]
    for row in rows:
        lines.append(
            f"{row['workers']:>8} {row['rps']:>8.1f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['errors']:>7}"
        )
    if len(rows) == 2 and rows[0]["rps"]:
        lines.append(f"scaling 1 -> 2 workers: {rows[1]['rps'] / rows[0]['rps']:.2f}x requests/s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=640, help="timed requests per row (default 640)")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent connections (default 32)")
    args = parser.parse_args(argv)
    rows = run(args.requests, args.concurrency)
    print(render(rows, args.concurrency))
    return 1 if any(row["errors"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
