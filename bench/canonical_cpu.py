"""CPU time canonicalisation adds to one request (#16): what `proxy.scan` does before detection
(each slot's canonical text, the seams between adjacent slots) on the benchmark body
(bench/bodies.py, ~1.5 KB, six messages), and on the same body with its values disguised
(zero-width characters, full-width digits, look-alike letters, URL and base64 encodings).
CPU time, not wall time, so a busy machine changes it little.

    .venv/bin/python bench/canonical_cpu.py --requests 300
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bodies import Bodies  # noqa: E402
from proxy.detection.canonical import canonicalise  # noqa: E402
from proxy.detection.reading import read  # noqa: E402
from proxy.detection.seams import adjacent  # noqa: E402
from proxy.dialects import DIALECTS  # noqa: E402


def disguised(body: dict[str, Any]) -> dict[str, Any]:
    """The body with each message's text disguised a different way (a worst case: every
    transform has something to undo)."""
    tricks = [
        lambda t: "\u200b".join(t),
        lambda t: t.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789@"}),
        lambda t: t.replace("a", "\u0430").replace("o", "\u043e"),
        lambda t: t.replace("@", "%40").replace(" ", "%20", 5),
        lambda t: "decode " + base64.b64encode(t.encode()).decode(),
        lambda t: json.dumps(t).replace("e", "\\u0065"),
    ]
    messages = [{**m, "content": tricks[i % len(tricks)](m["content"])} for i, m in enumerate(body["messages"])]
    return {**body, "messages": messages}


def cpu_ms(bodies: list[dict[str, Any]], warmup: int = 10) -> float:
    """CPU milliseconds per body of extracting nothing but reading: canonical texts and seams."""
    dialect = DIALECTS["openai-chat"]
    work = [(body, dialect.request_slots(body)) for body in bodies]
    for body, slots in work[:warmup]:
        read(slots, adjacent(body, slots))
    start = time.process_time()
    for body, slots in work[warmup:]:
        read(slots, adjacent(body, slots))
    return (time.process_time() - start) / len(work[warmup:]) * 1000


def worst_shapes(size: int) -> dict[str, str]:
    """Texts of `size` characters shaped against the transforms' regular expressions (long
    tokens with no match at their end, runs of labels and separators): they must cost time in
    proportion to their length, never its square."""
    unit = {
        "labels and dots": "a.",
        "digits and dashes": "1-",
        "digits and spaces": "1 ",
        "token ending in a stray %": "a",
        "base64 alphabet": "A",
        "number words": "one ",
        "spelled at and dot": "a dot b at ",
        "cyrillic look-alikes": "\u0430",
        "zero-width spaces": "a\u200b",
        "json escapes": "\\u0041",
        "percent escapes": "%41",
    }
    return {
        name: (piece * (size // len(piece) + 1))[:size] + ("%zz" if "%" in name else "") for name, piece in unit.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    source = Bodies()
    bodies = [json.loads(source.chat(False)) for _ in range(args.requests + 10)]
    size = sum(len(m["content"]) for m in bodies[0]["messages"])
    print(f"bench body: {len(bodies[0]['messages'])} messages, {size} characters of text")
    print(f"{'canonical text + seams, bench body':<44} {cpu_ms(bodies):7.3f} ms CPU per request")
    hard = cpu_ms([disguised(body) for body in bodies])
    print(f"{'canonical text + seams, disguised body':<44} {hard:7.3f} ms CPU per request")
    size = 100_000  # the shipped default max_scan_chars
    for name, text in worst_shapes(size).items():
        start = time.process_time()
        canonicalise(text)
        print(f"{f'{size:,} characters of {name}':<50} {(time.process_time() - start) * 1000:7.1f} ms CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
