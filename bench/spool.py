"""Spool replay speed and memory: records per second and peak RSS at several spool sizes.

For each size it fills a spool (`proxy.store.spool.Spool`, real segment files) with real record
rows (`bench/seed_store.py`'s exchanges through the recorder's `rows_for`, repeated under fresh
ids), then, in a child process of its own, replays it the way the recorder does (`Spool.drain`,
batches of 200) and reports wall time and the child's peak RSS. Two sinks: `none` (the spool's own
cost: read, parse, keep the offset, delete segments) and `sqlite` (`Recorder.write_or_reject`
into a fresh SQLite store, whose inserts slow down as it grows). Linear replay shows as the same
records/s at every size; streaming replay as the same peak RSS.

    .venv/bin/python bench/spool.py                      # 100 MB and 1 GB
    .venv/bin/python bench/spool.py --megabytes 5        # CI smoke run
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
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/spool.py` puts bench/, not the repository, on the path
    sys.path.insert(0, str(REPO))

TEMPLATES = 64  # distinct exchanges; the spool repeats them under fresh ids
BATCH_ROWS = 200


class _Line:
    """A ready JSON line that `Spool.append` writes as it would a `RecordRows`."""

    def __init__(self, text: str) -> None:
        self.text = text

    def to_json(self) -> str:
        return self.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, nargs="+", default=[100, 1000], help="spool sizes to measure")
    parser.add_argument("--sinks", nargs="+", default=["none", "sqlite"], choices=["none", "sqlite"])
    parser.add_argument("--child", nargs=2, metavar=("DIRECTORY", "SINK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_replay(Path(args.child[0]), args.child[1])))
        return
    results = [_measure(size, sink) for sink in args.sinks for size in args.megabytes]
    columns = ("records", "fill s", "replay s", "records/s", "MB/s", "peak RSS MB")
    print(f"\n{'sink':<7} {'spool MB':>9} " + " ".join(f"{column:>11}" for column in columns))
    for r in results:
        print(
            f"{r['sink']:<7} {r['megabytes']:>9} {r['records']:>11} {r['fill_seconds']:>11.1f} {r['seconds']:>11.1f} "
            f"{r['records'] / r['seconds']:>11.0f} {r['megabytes'] / r['seconds']:>11.1f} {r['peak_rss_mb']:>11.1f}"
        )
    for sink in args.sinks:
        mine = [r for r in results if r["sink"] == sink]
        if len(mine) > 1:
            small, large = mine[0], mine[-1]
            ratio = (large["seconds"] / large["records"]) / (small["seconds"] / small["records"])
            print(f"{sink}: seconds per record, largest vs smallest spool: {ratio:.2f}x (1.0 is linear)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def _measure(megabytes: int, sink: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pp-bench-spool-") as directory:
        started = time.perf_counter()
        records = _fill(Path(directory), megabytes * 1024 * 1024)
        fill_seconds = time.perf_counter() - started
        child = [sys.executable, str(Path(__file__).resolve()), "--child", directory, sink]
        result = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
        assert result["replayed"] == records, result
        return {"sink": sink, "megabytes": megabytes, "records": records, "fill_seconds": fill_seconds, **result}


def _fill(directory: Path, size: int) -> int:
    """Append real record lines under fresh ids until the spool holds `size` bytes."""
    from bench.seed_store import _exchange
    from proxy.hashing import Hasher
    from proxy.store.records import rows_for
    from proxy.store.sealing import Sealer
    from proxy.store.spool import Spool

    sealer, hasher = Sealer({}, None), Hasher(b"bench-spool-hash-key")
    now = time.time()
    templates = [rows_for(_exchange(i, now), sealer, hasher, "bench") for i in range(TEMPLATES)]
    lines = [(record.id, record.to_json()) for record in templates]
    spool = Spool(directory / "spool.jsonl")
    written = count = 0
    while written < size:
        batch = []
        for _ in range(1000):
            old_id, text = lines[count % TEMPLATES]
            line = text.replace(old_id, f"req_spool_{count:012d}")
            batch.append(_Line(line))
            written += len(line) + 1
            count += 1
        spool.append(batch)  # type: ignore[arg-type]
    return count


def _replay(directory: Path, sink: str) -> dict[str, float]:
    """Replay the spool as the recorder's writer thread does, into `sink`."""
    from proxy.store.database import make_engine, upgrade
    from proxy.store.recorder import Recorder
    from proxy.store.spool import Spool

    url = f"sqlite:///{directory / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    spool = Spool(directory / "spool.jsonl")
    recorder = Recorder(engine, lambda exchange: None, spool)  # type: ignore[arg-type, return-value]
    write = recorder.write_or_reject if sink == "sqlite" else (lambda records: None)
    started = time.perf_counter()
    replayed = 0
    while moved := spool.drain(write, BATCH_ROWS):
        replayed += moved
    seconds = time.perf_counter() - started
    engine.dispose()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"replayed": replayed, "seconds": seconds, "peak_rss_mb": peak_rss_mb}


if __name__ == "__main__":
    main()
