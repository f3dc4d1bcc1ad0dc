"""Export speed and memory: rows per second and peak RSS per format, at several store sizes.

For each size N it creates a fresh PostgreSQL database, migrates it, seeds N exchanges with
`bench/seed_store.py` (real record rows, bulk-inserted), then runs each export in its own child
process (`privacy-proxy export`'s code path, default options: forwarded content, successful
exchanges only, near de-duplication on), which reports its wall and CPU time and its own peak RSS.
Speed is counted in records read and decided (written or skipped, e.g. as a near copy) per
second. The database is dropped at the end. Memory that stays flat from 10k to 100k rows shows
the export streams.

    .venv/bin/python bench/export.py                      # 10,000 and 100,000 rows
    .venv/bin/python bench/export.py --rows 2000          # CI smoke run
    .venv/bin/python bench/export.py --dedupe off

The targets are >= 10,000 records/s for openai-jsonl and >= 8,000 for Parquet, with de-duplication
on; it prints whether they are met and exits 0 either way.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/export.py` puts bench/, not the repository, on the path
    sys.path.insert(0, str(REPO))

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
FORMATS = ("openai-jsonl", "parquet")
TARGETS = {"openai-jsonl": 10_000, "parquet": 8_000, "sharegpt": 10_000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000], help="store sizes to measure")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=["openai-jsonl", "parquet", "sharegpt"])
    parser.add_argument("--dedupe", default="near", choices=["near", "exact", "off"])
    parser.add_argument("--child", nargs=4, metavar=("URL", "FORMAT", "OUT", "DEDUPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    results = [result for n in args.rows for result in _measure(n, args.formats, args.dedupe)]
    columns = ("exported", "seconds", "rows/s", "rows/cpu-s", "peak RSS MB")
    print(f"\n{'rows':>8}  {'format':<13} " + " ".join(f"{c:>11}" for c in columns))
    for r in results:
        print(
            f"{r['rows']:>8}  {r['format']:<13} {r['exported']:>11} {r['seconds']:>11.2f} "
            f"{r['rows_per_second']:>11.0f} {r['rows_per_cpu_second']:>11.0f} {r['peak_rss_mb']:>11.1f}"
        )
    print(f"\nrows/s: records read and decided per second, de-duplication {args.dedupe}")
    for r in results:
        target = TARGETS[str(r["format"])]
        for clock, key in (("wall clock", "rows_per_second"), ("per CPU-second", "rows_per_cpu_second")):
            speed = float(r[key])
            verdict = "met" if speed >= target else "NOT met"
            print(f"{r['rows']:>8} {r['format']:<13} target >= {target} rows/s {clock}: {verdict} ({speed:.0f})")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (rows/cpu-s ignores it)")


def _measure(n: int, formats: list[str], dedupe: str) -> list[dict[str, float | int | str]]:
    from bench.seed_store import fresh_postgres, seed
    from proxy.store.database import make_engine

    with fresh_postgres(POSTGRES, "pp_bench_export") as url:
        engine = make_engine(url)
        started = time.perf_counter()
        seed(engine, n)
        engine.dispose()
        print(f"seeded {n} exchanges in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="pp-bench-export-") as tmp:
            return [{"rows": n, "format": f, **_run_child(url, f, Path(tmp) / f, dedupe)} for f in formats]


def _run_child(url: str, format_: str, out: Path, dedupe: str) -> dict[str, float]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", url, format_, str(out), dedupe]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _child(url: str, format_: str, out: str, dedupe: str) -> None:
    """One export in this process; prints its wall and CPU time and its own peak RSS as JSON."""
    from bench.seed_store import SEED_SEALER
    from proxy.export.run import ExportOptions, run
    from proxy.store.database import make_engine

    engine = make_engine(url)
    options = ExportOptions.model_validate({"format": format_, "out": out, "dedupe": dedupe})
    started, cpu_started = time.perf_counter(), time.process_time()
    manifest = run(engine, SEED_SEALER, options)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    read = manifest.counts.matched
    print(
        json.dumps(
            {
                "exported": manifest.counts.exported,
                "seconds": seconds,
                "rows_per_second": read / seconds,
                "rows_per_cpu_second": read / cpu_seconds,
                "peak_rss_mb": peak_kb / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
