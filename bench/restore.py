"""What restoring pseudonyms costs a streamed answer, per chunk and per answer, in process.

A 2 KB chat answer holding placeholders in the forms models write (`<PERSON_1>`, `[person_2]`,
`&lt;EMAIL_ADDRESS_1&gt;`, the bare `PERSON_3`, ...) in every other sentence (and, as a worst
case, in every sentence) is cut into token-like deltas (words with
their space, as a vendor's tokenizer cuts text) and, as a worst case, into `--chunk` character
deltas, sent as OpenAI chat chunks, and run through a `StreamProcessor` (the proxy's
response path) twice: with the restore filter, and with no filter (the event plumbing alone).
The difference is what restoring adds. Times are CPU time of this process (the machine may be
shared). Prints p50/p99 per chunk and p50 per answer; exits 0 (a measurement, not a test):

    .venv/bin/python bench/restore.py [--answers 200] [--chunk 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or not

from stream_answers import DENSE, ORIGINALS, SENTENCES, answer, chat_events, chunks  # noqa: E402

from proxy.dialects.openai_chat import OpenAIChat  # noqa: E402
from proxy.dialects.sse import SSEEvent  # noqa: E402
from proxy.response.process import Filter, StreamProcessor  # noqa: E402
from proxy.response.restore import Restore  # noqa: E402


async def run_once(events: list[SSEEvent], filters: list[Filter]) -> tuple[float, list[float], str]:
    """CPU milliseconds for the whole answer and per event (CPU time: the machine may be shared),
    and the text the client gets."""
    processor = StreamProcessor(OpenAIChat(), filters)
    per_chunk, out = [], []
    started = time.process_time()
    for event in events:
        t = time.process_time()
        out += await processor.event(event)
        per_chunk.append((time.process_time() - t) * 1e3)
    out += await processor.end()
    total = (time.process_time() - started) * 1e3
    deltas = [json.loads(sse.data)["choices"] for sse in out if sse.data.startswith("{")]
    return total, per_chunk, "".join(c[0]["delta"].get("content") or "" for c in deltas if c)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def measure(args: argparse.Namespace) -> None:
    print(f"{args.answers} answers per row; 'dense': a placeholder in every sentence")
    print(
        f"{'answer':<7} {'deltas':<16} {'filters':<10} {'chunk p50 ms':>13} {'chunk p99 ms':>13} {'answer p50 ms':>14}"
    )
    for kind, chars in (("prose", 0), ("prose", args.chunk), ("dense", 0)):
        text = answer(args.size, SENTENCES if kind == "prose" else DENSE)
        events = chat_events(chunks(text, chars))
        makers = {"no filter": list, "restore": lambda: [Restore(ORIGINALS)]}
        rows: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in makers}
        for _ in range(args.answers):  # interleaved, so a change in the machine's load hits both alike
            for name, make in makers.items():
                total, times, returned = await run_once(events, make())  # type: ignore[operator]
                rows[name][0].append(total)
                rows[name][1].extend(times)
                assert name == "no filter" or "<PERSON_1>" not in returned, "not restored"
        label = f"{kind:<7} {len(events)} x {'token' if chars == 0 else f'{chars} chars'}"
        for name, (totals, per_chunk) in rows.items():
            print(
                f"{label:<24} {name:<10} {percentile(per_chunk, 50):>13.4f} {percentile(per_chunk, 99):>13.4f} "
                f"{percentile(totals, 50):>14.3f}"
            )
        added = percentile(rows["restore"][0], 50) - percentile(rows["no filter"][0], 50)
        print(f"{label:<24} restoring costs p50 {added:.3f} ms CPU per answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=4, help="characters per delta in the worst-case row")
    parser.add_argument("--size", type=int, default=2048, help="answer length in characters")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
