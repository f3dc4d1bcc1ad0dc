"""Small requests while large prompts are scanned: p50/p99 of a small request alone, then with
`--large` clients sending ~90 000-character prompts back to back, through `privacy-proxy serve`
(one worker, detection pool sized by the CPUs, the shipped policies).

    .venv/bin/python -m bench.isolation                  # 100 small requests per row
    .venv/bin/python -m bench.isolation --requests 30    # a smoke run

Large bodies (over 64 KB) queue for all but one detection process (proxy/scan_budget.py), so a
small request should find a process free; without that, two large prompts would hold both
processes of a two-core machine for seconds and every small request would wait behind them.
The small body is the bench's 1.5 KB six-message chat with a new fake customer every time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.bodies import MODEL, Bodies
from bench.latency import percentile
from bench.processes import HOST, REPO, start_proxy, start_vendor, wait_healthy

LARGE_CHARS = 90_000  # under the shipped max_scan_chars (100 000)


def large_body(bodies: Bodies) -> bytes:
    """One user message of about `LARGE_CHARS` characters of support chat, new people in it."""
    text = ""
    while len(text) < LARGE_CHARS:
        text += " ".join(m["content"] for m in json.loads(bodies.chat(False))["messages"]) + "\n"
    return json.dumps({"model": MODEL, "messages": [{"role": "user", "content": text[:LARGE_CHARS]}]}).encode()


async def small_requests(client: httpx.AsyncClient, bodies: Bodies, count: int) -> tuple[list[float], int]:
    latencies, errors = [], 0
    for _ in range(count):
        body = bodies.chat(False)
        started = time.perf_counter()
        response = await client.post("/v1/chat/completions", content=body)
        latencies.append((time.perf_counter() - started) * 1000)
        errors += response.status_code != 200
    return latencies, errors


async def large_requests(client: httpx.AsyncClient, bodies: Bodies, stop: asyncio.Event, seen: list[int]) -> None:
    while not stop.is_set():
        response = await client.post("/v1/chat/completions", content=large_body(bodies))
        seen.append(response.status_code)


async def measure(url: str, count: int, large: int, small: Bodies, big: Bodies) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(base_url=url, timeout=300, headers=headers, trust_env=False) as client:
        await small_requests(client, small, 5)  # warm up
        stop, seen = asyncio.Event(), list[int]()

        async def measured() -> tuple[list[float], int]:
            if large:
                await asyncio.sleep(1.0)  # let the large scans start
            try:
                return await small_requests(client, small, count)
            finally:
                stop.set()

        (latencies, errors), *_ = await asyncio.gather(
            measured(), *(large_requests(client, big, stop, seen) for _ in range(large))
        )
    return {
        "large_clients": large,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "errors": errors,
        "large_done": len(seen),
        "large_statuses": sorted(set(seen)),
    }


def run(count: int, large: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-isolation-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        vendor = start_vendor(stack, tmp)
        wait_healthy(vendor)
        server = start_proxy(stack, "isolation", tmp / "proxy", vendor.url, REPO / "policies")
        wait_healthy(server)
        small, big = Bodies(1), Bodies(2)  # one source per run: no row sees another's texts (the cache)
        return [asyncio.run(measure(server.url, count, clients, small, big)) for clients in (0, large)]


def render(rows: list[dict[str, Any]], count: int) -> str:
    lines = [
        f"{count} sequential small requests per row, detection on ({HOST})",
        f"{'large clients':>14} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'large done':>11} {'large statuses':>15}",
    ]
    for row in rows:
        statuses = ",".join(str(s) for s in row["large_statuses"]) or "-"
        lines.append(
            f"{row['large_clients']:>14} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['errors']:>7}"
            f" {row['large_done']:>11} {statuses:>15}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="small requests per row (default 100)")
    parser.add_argument("--large", type=int, default=2, help="clients sending large prompts (default 2)")
    args = parser.parse_args(argv)
    rows = run(args.requests, args.large)
    print(render(rows, args.requests))
    return 1 if any(row["errors"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
