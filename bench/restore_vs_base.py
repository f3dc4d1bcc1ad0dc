"""The whole response path of a streamed 2 KB answer with pseudonyms in it, before #18 and now:
what restoring every written form (`[person_2]`, `&lt;EMAIL_ADDRESS_1&gt;`, the bare `PERSON_3`,
...) adds to a streamed answer, measured against the code that restored only `<PERSON_1>`.

The base is commit f92396c (the parent of the commit that added the forms), checked out beside
this one; PYTHONPATH picks which code runs. Run one answer row N times under cachegrind, whose
instruction count does not change with the machine's load; the count per answer is
(N answers - 0 answers) / N:

    git worktree add --detach /tmp/pre18 f92396c
    for tree in /tmp/pre18 .; do for n in 0 20; do
        PYTHONHASHSEED=0 PYTHONPATH=$tree valgrind --tool=cachegrind --cache-sim=no \\
            --cachegrind-out-file=/dev/null .venv/bin/python bench/restore_vs_base.py --row prose --answers $n
    done; done

Without valgrind it prints the p50 CPU milliseconds per answer (noisy on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or not

from stream_answers import DENSE, ORIGINALS, SENTENCES, answer, chat_events, chunks  # noqa: E402

from proxy.dialects.openai_chat import OpenAIChat  # noqa: E402
from proxy.dialects.sse import SSEEvent  # noqa: E402

ROWS = {"prose": (SENTENCES, 0), "prose4": (SENTENCES, 4), "dense": (DENSE, 0)}
Run = Callable[[list[SSEEvent]], Awaitable[list[SSEEvent]]]


def path_of_this_tree() -> Run:
    """The answer's whole response path as the code on PYTHONPATH runs it."""
    try:
        from proxy.response.process import StreamProcessor
        from proxy.response.restore import Restore
    except ImportError:  # the base: one restorer per stream, exact forms only
        from proxy.restore import StreamRestorer  # type: ignore[import-not-found]

        async def before(events: list[SSEEvent]) -> list[SSEEvent]:
            restorer = StreamRestorer(OpenAIChat(), ORIGINALS)
            return [sse for event in events for sse in restorer.event(event)] + restorer.end()

        return before

    async def now(events: list[SSEEvent]) -> list[SSEEvent]:
        processor = StreamProcessor(OpenAIChat(), [Restore(ORIGINALS)])
        return [sse for event in events for sse in await processor.event(event)] + await processor.end()

    return now


async def measure(args: argparse.Namespace) -> None:
    sentences, chars = ROWS[args.row]
    events = chat_events(chunks(answer(2048, sentences), chars))
    run = path_of_this_tree()
    await run(events)  # warm-up, the same whatever N: patterns compiled
    times = []
    for _ in range(args.answers):
        started = time.process_time()
        await run(events)
        times.append((time.process_time() - started) * 1e3)
    if times and not args.quiet:
        print(f"{args.row}: p50 {statistics.median(times):.3f} ms CPU per answer over {args.answers} answers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--row", choices=ROWS, default="prose")
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--quiet", action="store_true", help="print nothing (under valgrind)")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
