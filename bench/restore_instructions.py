"""Run one row of bench/restore.py's answers through the stream processor a given number of
times, with the restore filter or with none, and print nothing: meant to be run under
`valgrind --tool=cachegrind`, whose instruction count does not change with the machine's load
(CPU time on a shared machine does). The count added per answer is
(restore, N answers - none, N answers) / N; the warm-up is the same in both runs:

    PYTHONHASHSEED=0 valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        .venv/bin/python bench/restore_instructions.py --filter restore --answers 40 --row prose
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/restore.py, run as a script or not

from restore import run_once  # noqa: E402
from stream_answers import DENSE, ORIGINALS, SENTENCES, answer, chat_events, chunks  # noqa: E402

from proxy.response.process import Filter  # noqa: E402
from proxy.response.restore import Restore  # noqa: E402

ROWS = {"prose": (SENTENCES, 0), "prose4": (SENTENCES, 4), "dense": (DENSE, 0)}


def filters(name: str) -> list[Filter]:
    return [Restore(ORIGINALS)] if name == "restore" else []


async def run(args: argparse.Namespace) -> None:
    sentences, chars = ROWS[args.row]
    events = chat_events(chunks(answer(2048, sentences), chars))
    await run_once(events, filters("restore"))  # warm-up, the same in both runs: patterns compiled
    await run_once(events, filters("none"))
    for _ in range(args.answers):
        await run_once(events, filters(args.filter))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--filter", choices=["restore", "none"], required=True)
    parser.add_argument("--answers", type=int, default=40)
    parser.add_argument("--row", choices=sorted(ROWS), default="prose")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
