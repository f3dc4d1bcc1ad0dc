"""`policy replay` speed and memory: requests per second and peak RSS, at several store sizes.

For each size N it creates a fresh PostgreSQL database, migrates it, seeds N sealed exchanges
with `bench/seed_store.py`, then replays the repository's policies over them in a child process
(`privacy-proxy policy replay`'s code path: open each original, scan it with the real detector,
a page of requests per detection call, in the detection pool's processes, compare with what was
recorded), which reports its wall time, its CPU time and that of its detection processes, its
peak RSS and its RSS every tenth of the way (this process plus the detection processes). The
database is dropped at the end. Peak RSS that stays flat as N grows shows the replay streams;
the time is mostly the detector's.

    .venv/bin/python bench/replay.py                   # 2,000 and 10,000 requests
    .venv/bin/python bench/replay.py --rows 100000     # the issue's size
    .venv/bin/python bench/replay.py --processes 0     # detection in the replaying process only
    .venv/bin/python bench/replay.py --no-cache        # every text analysed, however often it recurs
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/replay.py` puts bench/, not the repository, on the path
    sys.path.insert(0, str(REPO))

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
BENCH_KEY = bytes(range(32))  # a data key for the seeded originals, so replay opens sealed payloads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000, 10_000], help="store sizes to measure")
    parser.add_argument("--processes", type=int, help="detection processes (default: one per CPU core)")
    parser.add_argument(
        "--no-cache", action="store_true", help="without the analysis cache (the seeded texts repeat a lot)"
    )
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = {"processes": args.processes, **({"cache_entries": 0} if args.no_cache else {})}
    if args.child:
        _child(args.child, json.loads(args.config))
        return
    results = [{"rows": n, **_measure(n, config)} for n in args.rows]
    header = (
        f"{'rows':>8} {'replayed':>9} {'changed':>8} {'seconds':>9} {'req/s':>8} {'req/cpu-s':>10} {'peak RSS MB':>12}"
    )
    print(f"\n{header}  RSS MB along the way (all processes)")
    for r in results:
        along = " ".join(f"{mb:.0f}" for mb in r["rss_mb_along"])
        print(
            f"{r['rows']:>8} {r['replayed']:>9} {r['changed']:>8} {r['seconds']:>9.1f} {r['per_second']:>8.1f} "
            f"{r['per_cpu_second']:>10.1f} {r['peak_rss_mb']:>12.1f}  {along}"
        )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def _measure(n: int, config: dict[str, int | None]) -> dict[str, float]:
    from bench.seed_store import fresh_postgres, seed
    from proxy.store.database import make_engine
    from proxy.store.sealing import Sealer

    with fresh_postgres(POSTGRES, "pp_bench_replay") as url:
        engine = make_engine(url)
        started = time.perf_counter()
        seed(engine, n, sealer=Sealer({"bench": BENCH_KEY}, "bench"))
        engine.dispose()
        print(f"seeded {n} exchanges in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        command = [sys.executable, str(Path(__file__).resolve()), "--child", url, "--config", json.dumps(config)]
        completed = subprocess.run(command, check=True, capture_output=True, text=True)
        result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
        return result


def _rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _cpu_seconds(pid: int) -> float:
    """User and system time of another process (a detection process), from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child(url: str, config: dict[str, int | None]) -> None:
    """One replay in this process (and its detection processes); prints the times (CPU of all of
    them), the peak RSS (this process's plus each detection process's) and RSS samples as JSON."""
    from proxy.config import DetectionConfig
    from proxy.detection import DetectionEngine
    from proxy.governance.replay import Window, replay
    from proxy.policy.loader import load_policies
    from proxy.store.database import make_engine
    from proxy.store.sealing import Sealer

    detector = DetectionEngine.from_config(DetectionConfig(**config))  # as `policy replay` builds it
    pids = detector.pool.pids if detector.pool is not None else []
    draft = load_policies(REPO / "policies", known_entities=detector.supported_entities())
    engine = make_engine(url)
    with engine.connect() as connection:
        total = connection.exec_driver_sql("SELECT count(*) FROM requests").scalar_one()
    samples: list[float] = []

    def progress(done: int) -> None:
        if done % max(1, total // 10) == 0:
            samples.append(_rss_mb() + sum(_rss_mb(pid) for pid in pids))

    def cpu() -> float:
        return time.process_time() + sum(_cpu_seconds(pid) for pid in pids)

    started, cpu_started = time.perf_counter(), cpu()
    report = replay(engine, Sealer({"bench": BENCH_KEY}, "bench"), draft, detector, Window(), progress=progress)
    seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    detector.close()  # the detection processes end: their peak joins RUSAGE_CHILDREN
    peak_kb += resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * len(pids)  # the largest, per process
    print(
        json.dumps(
            {
                "replayed": report.replayed,
                "changed": report.changed,
                "seconds": seconds,
                "per_second": report.replayed / seconds,
                "per_cpu_second": report.replayed / cpu_seconds,
                "peak_rss_mb": peak_kb / 1024,
                "rss_mb_along": samples,
            }
        )
    )


if __name__ == "__main__":
    main()
