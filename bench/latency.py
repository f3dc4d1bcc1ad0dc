"""Latency the proxy adds to a chat request, and how that compares with Presidio alone.

What it measures (all traffic stays on 127.0.0.1):

* The mock vendor (tests/mock_vendor.py, OpenAI wire format, echoes the last message) runs
  with uvicorn in its own process. Two proxies run in their own processes too, each started
  with `python -m proxy serve` and a temporary proxy.yaml (SQLite and spool in a temp dir, one
  upstream pointing at the mock vendor, no keys):
    - "allow-all":    a policy with no rules, so detection is skipped;
    - "detection on": the repository's policies/ (Presidio + spaCy on every message).
* One httpx.Client (keep-alive, one thread) sends the same ~1.5 KB, six-message
  customer-support conversation with a few names, an e-mail address and a phone number,
  sequentially: direct to the vendor, through each proxy, plain and with `"stream": true`
  (the whole SSE body is read). After warm-up requests, N timed requests per row give p50 and
  p99 latency, the latency the proxy adds (proxy minus direct, per percentile) and requests
  per second.
* Presidio's analyzer alone, in this process, built the way the proxy builds it:
  `analyzer.analyze(text, language="en")` over the six message texts is one iteration.

It checks the issue's targets: added p50 <= 3 ms with the allow-all policy, and with detection
on, added p50 within 1.3x of Presidio's p50. It prints whether they are met and exits 0 either
way: this is a measurement, not a test.

Run it from the repository root:

    .venv/bin/python bench/latency.py --requests 200
    .venv/bin/python bench/latency.py --requests 20 --json bench-latency.json   # CI smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/latency.py` puts bench/, not the repository, on the path
    sys.path.insert(0, str(REPO))

HOST = "127.0.0.1"
MODEL = "gpt-4o-mini"
HASH_KEY = "bench-hash-key"
STARTUP_TIMEOUT = 180.0  # seconds; each proxy loads spaCy, and the machine may be small
ALLOW_ALL_TARGET_MS = 3.0
DETECTION_TARGET_RATIO = 1.3
ALLOW_ALL_POLICY = "id: allow-all\nversion: 1\nrules: []\n"

MESSAGES: list[dict[str, str]] = [
    {
        "role": "system",
        "content": "You are a friendly customer-support assistant for Acme Telecom. Answer politely and "
        "concisely, never ask for a full card number, and when you escalate, say that a human agent will "
        "follow up by e-mail within one business day.",
    },
    {
        "role": "user",
        "content": "Hi, my name is Maria Gonzalez and I have been a customer for six years. My internet "
        "connection drops every evening since last Tuesday, usually around 8 pm, and restarting the router "
        "only helps for a few minutes. Can you help me?",
    },
    {
        "role": "assistant",
        "content": "I'm sorry to hear that, Maria. Evening drops are often caused by congestion or a faulty "
        "line. Could you confirm the e-mail address and phone number on the account so I can open a ticket?",
    },
    {
        "role": "user",
        "content": "Sure, it is maria.gonzalez@example.org and my phone number is (415) 555-0132. The account "
        "might be under my husband's name, David Chen.",
    },
    {
        "role": "assistant",
        "content": "Thank you. I found the account under David Chen, with you as an authorised user. I have "
        "opened ticket 48213 and scheduled a line test for tonight; a technician may call (415) 555-0132 "
        "if anything needs checking on site.",
    },
    {
        "role": "user",
        "content": "Great, thanks. Please send the summary to maria.gonzalez@example.org and let David Chen "
        "know as well. Is there anything I should do before the line test tonight?",
    },
]
TEXTS = [message["content"] for message in MESSAGES]
EXPECTED_ANSWER = TEXTS[-1]  # the mock vendor echoes the last message; the proxy must restore it


# --- the request -------------------------------------------------------------------------------


def chat_body(stream: bool) -> bytes:
    """The request body, encoded once, so JSON encoding is not part of what is timed."""
    body: dict[str, Any] = {"model": MODEL, "messages": MESSAGES, "temperature": 0.2, "max_tokens": 300}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def post(client: httpx.Client, url: str, body: bytes, stream: bool) -> httpx.Response:
    """One request, read to the end (a stream's whole SSE body)."""
    headers = {"content-type": "application/json"}
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


@dataclass
class Row:
    """One target in one mode, measured."""

    target: str
    mode: str  # "plain" or "stream"
    requests: int
    p50_ms: float
    p99_ms: float
    rps: float
    answer_ok: bool  # the answer came back as the vendor echoed it, names restored
    decision: str | None  # the x-proxy-decision header, when through the proxy
    added_p50_ms: float | None = None
    added_p99_ms: float | None = None


def timed(run: Callable[[], object], warmup: int, n: int) -> tuple[list[float], float]:
    """Latencies in ms of `n` calls after `warmup` untimed ones, and the wall time of the n calls."""
    for _ in range(warmup):
        run()
    latencies = []
    began = time.perf_counter()
    for _ in range(n):
        start = time.perf_counter()
        run()
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies, time.perf_counter() - began


def measure(client: httpx.Client, target: str, base_url: str, stream: bool, warmup: int, n: int) -> Row:
    url = base_url + "/v1/chat/completions"
    body = chat_body(stream)
    first = post(client, url, body, stream)  # also the first warm-up request
    latencies, wall = timed(lambda: post(client, url, body, stream), max(warmup - 1, 0), n)
    return Row(
        target=target,
        mode="stream" if stream else "plain",
        requests=n,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        rps=n / wall,
        answer_ok=answer_text(first, stream) == EXPECTED_ANSWER,
        decision=first.headers.get("x-proxy-decision"),
    )


def add_overhead(rows: list[Row], direct: dict[str, Row]) -> None:
    for row in rows:
        baseline = direct[row.mode]
        row.added_p50_ms = row.p50_ms - baseline.p50_ms
        row.added_p99_ms = row.p99_ms - baseline.p99_ms


# --- Presidio alone ----------------------------------------------------------------------------


def build_presidio() -> Any:
    """The analyzer exactly as the proxy builds it (loads spaCy: takes seconds)."""
    from proxy.config import DetectionConfig
    from proxy.detection.engine import build_analyzer

    return build_analyzer(DetectionConfig())


def presidio_latencies(analyzer: Any, warmup: int, n: int) -> list[float]:
    """One iteration analyzes the six message texts, one request's worth of text."""

    def analyze_request() -> None:
        for text in TEXTS:
            analyzer.analyze(text=text, language="en")

    latencies, _ = timed(analyze_request, warmup, n)
    return latencies


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PRIVACY_PROXY_SERVE", "PRIVACY_PROXY_CONFIG", "DATABASE_URL"):
        env.pop(name, None)  # would override the temporary config
    env["PRIVACY_PROXY_HASH_KEY"] = HASH_KEY
    env["NO_PROXY"] = env["no_proxy"] = f"{HOST},localhost"  # the proxy's vendor calls stay local
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def launch(stack: ExitStack, name: str, args: list[str], port: int, log: Path) -> Server:
    """Start a server process; it is stopped when `stack` closes, whatever happened."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *args], cwd=REPO, env=child_env(), stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(name, f"http://{HOST}:{port}", process, log)
    stack.callback(stop, server)
    return server


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def wait_healthy(server: Server, timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
            try:
                if client.get(server.url + "/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer /healthz within {timeout:.0f} s:\n{server.log_tail()}")


def start_vendor(stack: ExitStack, tmp: Path) -> Server:
    port = free_port()
    args = ["-m", "uvicorn", "bench.vendor_app:app", "--host", HOST, "--port", str(port)]
    args += ["--log-level", "warning", "--no-access-log"]
    return launch(stack, "mock vendor", args, port, tmp / "vendor.log")


def proxy_config(directory: Path, vendor_url: str, policies: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "server": {"host": HOST},
        "database_url": f"sqlite:///{directory / 'proxy.db'}",
        "policies": str(policies),
        "upstreams": [{"name": "mock", "kind": "openai-compatible", "base_url": vendor_url + "/v1", "models": ["*"]}],
        "storage": {"spool_path": str(directory / "spool.jsonl")},
    }
    path = directory / "proxy.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def allow_all_policies(tmp: Path) -> Path:
    directory = tmp / "allow-all-policies"
    directory.mkdir()
    (directory / "allow-all.yaml").write_text(ALLOW_ALL_POLICY)
    return directory


def start_proxy(stack: ExitStack, name: str, directory: Path, vendor_url: str, policies: Path) -> Server:
    config = proxy_config(directory, vendor_url, policies)
    port = free_port()
    args = ["-m", "proxy", "serve", "--config", str(config), "--port", str(port)]
    return launch(stack, f"proxy ({name})", args, port, directory / "proxy.log")


# --- the proxy's own records -------------------------------------------------------------------


@dataclass
class Recorded:
    """What the proxy wrote about the requests it served (its own view of the time spent)."""

    expected: int
    written: int
    by_mode: dict[str, dict[str, float | None]] = field(default_factory=dict)


RECORDED_QUERY = "SELECT stream, status, detect_ms, upstream_ms, total_ms FROM requests"


def recorded_timings(database: Path, expected: int, wait: float = 10.0) -> Recorded:
    """Median stage timings from the requests table, once the background writer has caught up."""
    deadline = time.monotonic() + wait
    while True:
        with closing(sqlite3.connect(database)) as connection:
            rows = connection.execute(RECORDED_QUERY).fetchall()
        if len(rows) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    result = Recorded(expected=expected, written=len(rows))
    for stream, mode in ((0, "plain"), (1, "stream")):
        ok = [row for row in rows if row[0] == stream and row[1] == "ok"]
        timings: dict[str, float | None] = {"ok_records": len(ok)}
        for index, column in ((2, "detect_ms_p50"), (3, "upstream_ms_p50"), (4, "total_ms_p50")):
            values = [row[index] for row in ok if row[index] is not None]
            timings[column] = percentile(values, 50) if values else None
        result.by_mode[mode] = timings
    return result


# --- the report --------------------------------------------------------------------------------


def fmt(value: float | None, width: int = 9) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.2f}"


def verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def targets(rows: list[Row], presidio_p50: float) -> list[dict[str, Any]]:
    """The issue's two targets, evaluated for plain and streaming requests."""
    checks = []
    for row in rows:
        assert row.added_p50_ms is not None
        if row.target == "proxy, allow-all":
            checks.append(
                {
                    "target": f"allow-all added p50 <= {ALLOW_ALL_TARGET_MS:g} ms",
                    "mode": row.mode,
                    "value": row.added_p50_ms,
                    "met": row.added_p50_ms <= ALLOW_ALL_TARGET_MS,
                }
            )
        elif row.target == "proxy, detection on":
            ratio = row.added_p50_ms / presidio_p50
            checks.append(
                {
                    "target": f"detection-on added p50 <= {DETECTION_TARGET_RATIO:g}x Presidio p50",
                    "mode": row.mode,
                    "value": ratio,
                    "met": ratio <= DETECTION_TARGET_RATIO,
                }
            )
    return checks


def render(result: dict[str, Any]) -> str:
    rows = [Row(**row) for row in result["rows"]]
    presidio = result["presidio"]
    lines = [
        "privacy-proxy latency benchmark",
        f"  {result['requests']} timed requests per row after {result['warmup']} warm-up, sequential, "
        f"one keep-alive connection; body {result['body_bytes']['plain']} bytes, {len(MESSAGES)} messages",
        "",
        f"{'target':<22}{'mode':<8}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'added p50':>11}{'added p99':>11}  check",
    ]
    for row in sorted(rows, key=lambda r: (r.mode != "plain", r.mode)):
        check = "answer ok" if row.answer_ok else "ANSWER WRONG"
        if row.decision:
            check += f", decision={row.decision}"
        lines.append(
            f"{row.target:<22}{row.mode:<8}{fmt(row.p50_ms)}{fmt(row.p99_ms)}{row.rps:9.1f}"
            f"{fmt(row.added_p50_ms, 11)}{fmt(row.added_p99_ms, 11)}  {check}"
        )
    lines += [
        "",
        f"Presidio analyzer alone (in-process, {len(TEXTS)} analyze() calls per iteration, "
        f"{presidio['iterations']} iterations): p50 {presidio['p50_ms']:.2f} ms, p99 {presidio['p99_ms']:.2f} ms",
        "",
        "detection on: proxy's added latency vs Presidio alone",
    ]
    for row in rows:
        if row.target == "proxy, detection on":
            assert row.added_p50_ms is not None
            lines.append(
                f"  {row.mode:<7} added p50 {row.added_p50_ms:7.2f} ms   Presidio p50 {presidio['p50_ms']:7.2f} ms"
                f"   ratio {row.added_p50_ms / presidio['p50_ms']:.2f}x"
            )
    lines += ["", "targets (from the issue)"]
    for check in result["targets"]:
        unit = "x" if "x Presidio" in check["target"] else " ms"
        lines.append(f"  {check['target']:<46}{check['mode']:<8}{check['value']:7.2f}{unit:<4}{verdict(check['met'])}")
    lines += ["", "the proxy's own records (median over every request it served, warm-up included)"]
    for name, recorded in result["recorded"].items():
        lines.append(f"  {name}: {recorded['written']}/{recorded['expected']} records written")
        for mode, timings in recorded["by_mode"].items():
            lines.append(
                f"    {mode:<7} ok {timings['ok_records']:>4}"
                f"   detect {fmt(timings.get('detect_ms_p50'), 7)} ms"
                f"   upstream {fmt(timings.get('upstream_ms_p50'), 7)} ms"
                f"   total {fmt(timings.get('total_ms_p50'), 7)} ms"
            )
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per row (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests before each row (default 20)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 1:
        parser.error("--requests and --warmup must be at least 1")
    return args


def run(requests: int, warmup: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        vendor = start_vendor(stack, tmp)
        proxies = {
            "allow-all": start_proxy(stack, "allow-all", tmp / "allow-all", vendor.url, allow_all_policies(tmp)),
            "detection on": start_proxy(stack, "detection on", tmp / "detection-on", vendor.url, REPO / "policies"),
        }
        analyzer = build_presidio()  # loads spaCy here while the proxies load it in theirs
        for server in (vendor, *proxies.values()):
            wait_healthy(server)

        with httpx.Client(trust_env=False, timeout=60) as client:
            direct = {
                mode: measure(client, "direct (mock vendor)", vendor.url, mode == "stream", warmup, requests)
                for mode in ("plain", "stream")
            }
            through = [
                measure(client, f"proxy, {name}", server.url, stream, warmup, requests)
                for name, server in proxies.items()
                for stream in (False, True)
            ]
        add_overhead(through, direct)
        presidio = presidio_latencies(analyzer, warmup, requests)
        presidio_p50 = percentile(presidio, 50)
        sent = 2 * (warmup + requests)
        recorded = {name: asdict(recorded_timings(tmp / name.replace(" ", "-") / "proxy.db", sent)) for name in proxies}

    rows = [*direct.values(), *through]
    return {
        "requests": requests,
        "warmup": warmup,
        "body_bytes": {"plain": len(chat_body(False)), "stream": len(chat_body(True))},
        "rows": [asdict(row) for row in rows],
        "presidio": {"iterations": requests, "p50_ms": presidio_p50, "p99_ms": percentile(presidio, 99)},
        "targets": targets(through, presidio_p50),
        "recorded": recorded,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    result = run(args.requests, args.warmup)
    result["elapsed_s"] = time.perf_counter() - started
    print(render(result))
    print(f"\n(benchmark took {result['elapsed_s']:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
