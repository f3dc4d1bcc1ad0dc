"""What privacy-proxy adds to a chat request, side by side with LiteLLM, in one run.

All traffic stays on 127.0.0.1; every server runs in its own process:

* the mock vendor (tests/mock_vendor.py, OpenAI wire format, echoes the last message), called
  directly: the baseline every "added" number is measured against;
* privacy-proxy started with `python -m proxy serve` and its defaults (a detection pool sized by
  the CPU count, the analysis cache), once with an allow-all policy (no detection) and once with
  the repository's policies/ (Presidio + spaCy on every message);
* when bench/.litellm-venv exists (bench/setup_litellm.sh builds it): the LiteLLM proxy pointed at
  the same mock vendor (bench/litellm.yaml), and a second one with its Presidio guardrail
  (bench/litellm-presidio.yaml), which calls Presidio's analyzer and anonymizer over HTTP
  (bench/presidio_services.py, same spaCy model as the proxy).

Every request body is different (bench/bodies.py: Faker values in a ~1.5 KB six-message support
conversation), so no cache flatters a number. Per row:

* latency: `--requests` sequential requests on one keep-alive connection after `--warmup`;
  p50/p99, and the latency added over the vendor called directly (per percentile, same mode);
* throughput: `--throughput` requests from `--concurrency` client threads; requests per second;
* CPU ms: CPU time the target's processes (server, its detection processes or workers, and for
  LiteLLM + Presidio the Presidio services) used per request in the sequential phase, read from
  /proc: unlike latency, it hardly changes when other programs compete for the cores.

Then the multi-turn run, on the detection proxy: conversations of `--turns` user turns, each turn
resending the whole history, as chat clients do. The added latency of the last turn (history
already seen) is compared with the added latency of a request holding only that turn's new text
(the assistant's previous reply and the new user message, never seen before).

It prints one table and whether the issue's targets are met, and exits 0 either way: this is a
measurement, not a test. Run it from the repository root on a quiet machine:

    bench/setup_litellm.sh                                   # once: LiteLLM + Presidio, own venv
    .venv/bin/python bench/latency.py --requests 300         # the comparison
    .venv/bin/python bench/latency.py --requests 20 --no-litellm   # CI smoke: our rows only
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/latency.py` puts bench/, not the repository, on the path
    sys.path.insert(0, str(REPO))

from bench.bodies import Bodies, encode, last_message  # noqa: E402
from bench.processes import (  # noqa: E402
    Server,
    litellm_available,
    start_litellm,
    start_presidio,
    start_proxy,
    start_vendor,
    wait_healthy,
)

DIRECT = "vendor, direct"
ALLOW_ALL = "privacy-proxy, allow-all"
DETECTION = "privacy-proxy, detection"
LITELLM = "LiteLLM"
LITELLM_PRESIDIO = "LiteLLM + Presidio"


# --- requests ----------------------------------------------------------------------------------


def post(client: httpx.Client, server: Server, body: bytes, stream: bool) -> httpx.Response:
    """One chat request, read to the end (a stream's whole SSE body)."""
    url = server.url + "/v1/chat/completions"
    headers = {"content-type": "application/json", **server.headers}
    if stream:
        with client.stream("POST", url, content=body, headers=headers) as response:
            response.read()
    else:
        response = client.post(url, content=body, headers=headers)
    response.raise_for_status()
    return response


def answer_text(response: httpx.Response, stream: bool) -> str:
    """The assistant's text, from a JSON body or assembled from SSE chunks."""
    if not stream:
        return str(response.json()["choices"][0]["message"]["content"])
    parts = []
    for line in response.text.splitlines():
        data = line.removeprefix("data: ")
        if line.startswith("data: ") and data.strip() != "[DONE]":
            for choice in json.loads(data).get("choices") or []:
                parts.append((choice.get("delta") or {}).get("content") or "")
    return "".join(parts)


# --- statistics --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linearly interpolated between the closest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


@dataclass
class Row:
    """One target in one mode, measured."""

    target: str
    mode: str  # "plain" or "stream"
    requests: int
    p50_ms: float
    p99_ms: float
    rps: float  # from the concurrent phase
    cpu_ms: float  # CPU per request of the target's processes (and its helpers), in the sequential phase
    answer: str  # "echoed" when the vendor's echo came back as sent (pseudonyms restored)
    added_p50_ms: float | None = None
    added_p99_ms: float | None = None


def sequential(client: httpx.Client, server: Server, bodies: list[bytes], stream: bool, warmup: int) -> list[float]:
    """Latencies in ms, one body per request, after `warmup` untimed requests."""
    latencies = []
    for index, body in enumerate(bodies):
        elapsed = timed(lambda body=body: post(client, server, body, stream))  # type: ignore[misc]
        if index >= warmup:
            latencies.append(elapsed)
    return latencies


def throughput(server: Server, bodies: list[bytes], stream: bool, concurrency: int) -> float:
    """Requests per second with `concurrency` client threads, each on its own keep-alive connection."""
    local = threading.local()
    clients: list[httpx.Client] = []

    def send(body: bytes) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(trust_env=False, timeout=120)
            clients.append(local.client)
        post(local.client, server, body, stream)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, bodies[:concurrency]))  # open the connections
        began = time.perf_counter()
        list(pool.map(send, bodies[concurrency:]))
        wall = time.perf_counter() - began
    for client in clients:
        client.close()
    return (len(bodies) - concurrency) / wall


def measure(client: httpx.Client, source: Bodies, server: Server, stream: bool, args: argparse.Namespace) -> Row:
    bodies = [source.chat(stream) for _ in range(args.warmup + args.requests)]
    first = post(client, server, bodies[0], stream)
    answer = "echoed" if answer_text(first, stream) == last_message(bodies[0]) else "changed"
    cpu_before = server.cpu_seconds()
    latencies = sequential(client, server, bodies, stream, args.warmup)
    cpu_ms = (server.cpu_seconds() - cpu_before) * 1000 / len(bodies)
    rps = throughput(server, [source.chat(stream) for _ in range(args.throughput)], stream, args.concurrency)
    mode = "stream" if stream else "plain"
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return Row(server.name, mode, len(latencies), p50, p99, rps, cpu_ms, answer)


def add_overhead(rows: list[Row]) -> None:
    direct = {row.mode: row for row in rows if row.target == DIRECT}
    for row in rows:
        if row.target != DIRECT:
            row.added_p50_ms = row.p50_ms - direct[row.mode].p50_ms
            row.added_p99_ms = row.p99_ms - direct[row.mode].p99_ms


# --- the multi-turn run ------------------------------------------------------------------------


def multi_turn(
    client: httpx.Client, source: Bodies, vendor: Server, proxy: Server, args: argparse.Namespace
) -> dict[str, Any]:
    """Added latency of turn N with the history resent, of the same turn with nothing seen before,
    and of a request holding only turn N's new text. The three kinds are timed in rounds, one of
    each per round in rotating order, so a busier moment of the machine (or the record of the
    request before) weighs on all three alike."""
    turns = args.turns
    resent_bodies = []
    for _ in range(args.conversations):
        persona = source.persona()
        for turn in range(1, turns):  # the earlier turns, as the client sent them: not timed
            post(client, proxy, encode(persona.conversation(turn), False), False)
        resent_bodies.append(encode(persona.conversation(turns), False))
    others = [source.persona().conversation(turns) for _ in range(2 * len(resent_bodies))]
    kinds = {
        "turn_n_resent_added_p50_ms": resent_bodies,
        "turn_n_fresh_added_p50_ms": [encode(messages, False) for messages in others[::2]],
        "new_text_alone_added_p50_ms": [encode(messages[-2:], False) for messages in others[1::2]],
    }
    through: dict[str, list[float]] = {kind: [] for kind in kinds}
    direct: dict[str, list[float]] = {kind: [] for kind in kinds}
    names = list(kinds)
    for index in range(len(resent_bodies)):
        for kind in names[index % 3 :] + names[: index % 3]:  # each kind first, second and third in turn
            body = kinds[kind][index]
            through[kind].append(timed(lambda: post(client, proxy, body, False)))  # noqa: B023
            direct[kind].append(timed(lambda: post(client, vendor, body, False)))  # noqa: B023
    result: dict[str, Any] = {
        "turns": turns,
        "conversations": args.conversations,
        "messages_in_turn_n": 2 * turns,
        **{kind: percentile(through[kind], 50) - percentile(direct[kind], 50) for kind in kinds},
        "turn_n_bytes": len(resent_bodies[0]),
        "new_text_bytes": len(kinds["new_text_alone_added_p50_ms"][0]),
    }
    result["ratio"] = result["turn_n_resent_added_p50_ms"] / max(result["new_text_alone_added_p50_ms"], 1e-9)
    return result


# --- the proxy's own records -------------------------------------------------------------------


def recorded_detect_ms(database: Path, wait: float = 5.0) -> dict[str, float | None]:
    """Median detect_ms per mode from the proxy's requests table (its own view of detection)."""
    time.sleep(wait)  # let the background writer catch up
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT stream, detect_ms FROM requests WHERE status = 'ok'").fetchall()
    result: dict[str, float | None] = {}
    for stream, mode in ((0, "plain"), (1, "stream")):
        values = [row[1] for row in rows if row[0] == stream and row[1] is not None]
        result[mode] = percentile(values, 50) if values else None
    return result


# --- targets and report ------------------------------------------------------------------------


def find(rows: list[Row], target: str, mode: str) -> Row | None:
    return next((r for r in rows if r.target == target and r.mode == mode), None)


def targets(rows: list[Row], turns: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets; a comparison with LiteLLM is None when LiteLLM did not run."""
    checks: list[dict[str, Any]] = []

    def check(name: str, value: float | None, limit: float, at_most: bool = True) -> None:
        met = None if value is None else (value <= limit if at_most else value >= limit)
        checks.append({"target": name, "value": value, "limit": limit, "met": met})

    for mode in ("plain", "stream"):
        ours, theirs = find(rows, ALLOW_ALL, mode), find(rows, LITELLM, mode)
        assert ours is not None and ours.added_p50_ms is not None
        ratio = ours.added_p50_ms / theirs.added_p50_ms if theirs and theirs.added_p50_ms else None
        check(f"allow-all {mode}: added p50 / LiteLLM's", ratio, 1 / 3)
        check(f"allow-all {mode}: req/s / LiteLLM's", ours.rps / theirs.rps if theirs else None, 2.0, at_most=False)
    detection, presidio = find(rows, DETECTION, "plain"), find(rows, LITELLM_PRESIDIO, "plain")
    assert detection is not None
    check("detection plain: added p50 (ms)", detection.added_p50_ms, 30.0)
    rps_ratio = detection.rps / presidio.rps if presidio else None
    check("detection plain: req/s / LiteLLM+Presidio's", rps_ratio, 4.0, at_most=False)
    for target in (ALLOW_ALL, DETECTION):
        plain, stream = find(rows, target, "plain"), find(rows, target, "stream")
        assert plain and stream and plain.added_p50_ms is not None and stream.added_p50_ms is not None
        check(f"{target.split(', ')[1]}: stream added p50 - plain (ms)", stream.added_p50_ms - plain.added_p50_ms, 3.0)
    check("turn N resent / new text alone", turns["ratio"], 1.2)
    return checks


def fmt(value: float | None, width: int = 9, digits: int = 2) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


def render(result: dict[str, Any]) -> str:
    rows = [Row(**row) for row in result["rows"]]
    lines = [
        "privacy-proxy vs LiteLLM: latency added over the vendor called directly, and throughput",
        f"  body ~{result['body_bytes']} bytes, 6 messages, different values in every request; "
        f"{result['requests']} sequential requests per row after {result['warmup']} warm-up; req/s from "
        f"{result['throughput']} requests on {result['concurrency']} connections",
        f"  machine: {result['cpus']} CPUs; load average before the run {result['load_before']}, "
        f"after {result['load_after']}",
        "",
        f"{'target':<28}{'mode':<8}{'p50 ms':>9}{'p99 ms':>9}{'added p50':>11}{'added p99':>11}"
        f"{'req/s':>9}{'CPU ms':>8}  answer",
    ]
    for row in rows:
        lines.append(
            f"{row.target:<28}{row.mode:<8}{fmt(row.p50_ms)}{fmt(row.p99_ms)}"
            f"{fmt(row.added_p50_ms, 11)}{fmt(row.added_p99_ms, 11)}{fmt(row.rps, 9, 1)}"
            f"{fmt(row.cpu_ms, 8, 1)}  {row.answer}"
        )
    if not result["litellm"]:
        lines.append(f"{'LiteLLM rows':<28}not run: {result['litellm_note']}")
    turns = result["multi_turn"]
    lines += [
        "",
        f"multi-turn (privacy-proxy, detection): turn {turns['turns']} of {turns['conversations']} conversations, "
        f"{turns['messages_in_turn_n']} messages (~{turns['turn_n_bytes']} bytes), history resent",
        f"  turn N, history already seen (cache)   added p50 {turns['turn_n_resent_added_p50_ms']:8.2f} ms",
        f"  turn N, nothing seen before            added p50 {turns['turn_n_fresh_added_p50_ms']:8.2f} ms",
        f"  its new text alone (2 messages)        added p50 {turns['new_text_alone_added_p50_ms']:8.2f} ms",
        f"  ratio resent / new text alone          {turns['ratio']:.2f}x",
        "",
        "detect_ms p50 as the detection proxy recorded it (all its requests, the concurrent phase too): "
        + ", ".join(f"{mode} {fmt(value, 0)} ms" for mode, value in result["recorded_detect_ms"].items()),
        "",
        "targets (from the issue)",
    ]
    for check in result["targets"]:
        verdict = "n/a (LiteLLM not run)" if check["met"] is None else ("MET" if check["met"] else "NOT MET")
        bound = "<=" if "req/s" not in check["target"] else ">="
        lines.append(f"  {check['target']:<46}{fmt(check['value'], 8)}  {bound} {check['limit']:<6.3g} {verdict}")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="sequential timed requests per row (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests before each row (default 20)")
    parser.add_argument("--throughput", type=int, help="requests for req/s per row (default: --requests)")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections for req/s (default 8)")
    parser.add_argument("--turns", type=int, default=6, help="user turns per multi-turn conversation (default 6)")
    parser.add_argument("--conversations", type=int, help="multi-turn conversations (default: --requests / 4)")
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM even if bench/.litellm-venv exists")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    args.throughput = args.throughput or args.requests
    args.conversations = args.conversations or max(args.requests // 4, 5)
    if min(args.requests, args.warmup, args.concurrency, args.turns - 1) < 1:
        parser.error("--requests, --warmup and --concurrency must be at least 1, --turns at least 2")
    args.throughput = max(args.throughput, args.concurrency + 1)
    return args


def start_all(stack: ExitStack, tmp: Path, use_litellm: bool) -> tuple[Server, list[Server]]:
    vendor = start_vendor(stack, tmp)
    targets = [
        start_proxy(stack, "allow-all", tmp / "allow-all", vendor.url, None),
        start_proxy(stack, "detection", tmp / "detection", vendor.url, REPO / "policies"),
    ]
    if use_litellm:
        presidio = start_presidio(stack, tmp)
        targets.append(start_litellm(stack, LITELLM, tmp, vendor.url))
        targets.append(start_litellm(stack, LITELLM_PRESIDIO, tmp, vendor.url, presidio))
        for server in presidio:
            wait_healthy(server)
    for server in (vendor, *targets):
        wait_healthy(server)
    return vendor, targets


def run(args: argparse.Namespace) -> dict[str, Any]:
    use_litellm = litellm_available() and not args.no_litellm
    note = "--no-litellm" if args.no_litellm else "bench/.litellm-venv missing (run bench/setup_litellm.sh)"
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        vendor, servers = start_all(stack, tmp, use_litellm)
        names = iter([ALLOW_ALL, DETECTION, LITELLM, LITELLM_PRESIDIO])
        for server in servers:
            server.name = next(names)
        vendor.name = DIRECT
        source = Bodies()
        rows = []
        with httpx.Client(trust_env=False, timeout=120) as client:
            for server in (vendor, *servers):
                for stream in (False, True):
                    rows.append(measure(client, source, server, stream, args))
            add_overhead(rows)
            detection = next(s for s in servers if s.name == DETECTION)
            turns = multi_turn(client, source, vendor, detection, args)
        recorded = recorded_detect_ms(tmp / "detection" / "proxy.db")
    return {
        "requests": args.requests,
        "warmup": args.warmup,
        "throughput": args.throughput,
        "concurrency": args.concurrency,
        "body_bytes": len(Bodies().chat(False)),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": _load(),
        "litellm": use_litellm,
        "litellm_note": "" if use_litellm else note,
        "rows": [asdict(row) for row in rows],
        "multi_turn": turns,
        "recorded_detect_ms": recorded,
        "targets": targets(rows, turns),
    }


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    result = run(args)
    result["elapsed_s"] = time.perf_counter() - started
    print(render(result))
    print(f"\n(benchmark took {result['elapsed_s']:.1f} s: .venv/bin/python bench/latency.py {' '.join(sys.argv[1:])})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
