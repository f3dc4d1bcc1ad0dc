"""CPU time detection spends on one benchmark body (bench/bodies.py, ~1.45 KB, six messages), in
this process: spaCy with every pipe but the parser (how the proxy loaded it before) against the
pipes detection needs (proxy/detection/spacy_model.py), then the whole analysis (spaCy + Presidio
+ the repository's policies). CPU time, not wall time, so a busy machine changes it little; a pool
of N detection processes on N idle cores takes about 1/N of it in wall time per request.

    .venv/bin/python bench/detection_cpu.py --requests 60 [--per-recognizer 12]

`--per-recognizer N` also prints the N recognizers that cost the most (each one's `analyze` on
every text, after spaCy), and the noise filters, so a rise in the whole shows where it came from.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import spacy

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from presidio_analyzer import AnalyzerEngine  # noqa: E402

from bench.bodies import Bodies  # noqa: E402
from proxy.config import DetectionConfig  # noqa: E402
from proxy.detection.engine import DetectionEngine, _analyze, build_analyzer  # noqa: E402
from proxy.detection.noise import without_noise  # noqa: E402
from proxy.detection.spacy_model import load_model  # noqa: E402
from proxy.exchange import Slot  # noqa: E402
from proxy.policy.bundle import detectors_of, entities_of  # noqa: E402
from proxy.policy.loader import load_policies  # noqa: E402


def cpu_ms(call: Callable[[list[str]], object], requests: list[list[str]], warmup: int = 5) -> float:
    for texts in requests[:warmup]:
        call(texts)
    start = time.process_time()
    for texts in requests[warmup:]:
        call(texts)
    return (time.process_time() - start) / len(requests[warmup:]) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--per-recognizer", type=int, default=0, metavar="N", help="print the N costliest recognizers")
    args = parser.parse_args()
    source = Bodies()
    requests = [[m["content"] for m in json.loads(source.chat(False))["messages"]] for _ in range(args.requests + 5)]
    config = DetectionConfig()
    before = spacy.load(config.spacy_model, exclude=["parser"])
    after = load_model(config.spacy_model)
    for name, nlp in (("spaCy, every pipe but the parser", before), ("spaCy, the pipes detection needs", after)):
        ms = cpu_ms(lambda texts, nlp=nlp: list(nlp.pipe(texts)), requests)  # type: ignore[misc]
        print(f"{name:<36} {'+'.join(nlp.pipe_names):<44} {ms:6.1f} ms CPU per request")
    engine = DetectionEngine(build_analyzer(config))
    policies = load_policies(REPO / "policies", known_entities=engine.supported_entities()).policies
    entities, detectors = entities_of(policies), detectors_of(policies)

    def detect(texts: list[str]) -> object:
        return engine.detect_sync([Slot(("messages", i), t) for i, t in enumerate(texts)], entities, detectors)

    ms = cpu_ms(detect, requests)
    print(f"{'whole detection (spaCy + Presidio)':<36} {'repository policies':<44} {ms:6.1f} ms CPU per request")
    if args.per_recognizer:
        costs = recognizer_costs(engine.analyzer, requests, entities)
        for name, total in sorted(costs.items(), key=lambda item: -item[1])[: args.per_recognizer]:
            print(f"  {name:<40} {total:6.2f} ms CPU per request")
    return 0


def recognizer_costs(analyzer: AnalyzerEngine, requests: list[list[str]], entities: set[str]) -> dict[str, float]:
    """CPU ms per request of each recognizer's `analyze`, of Presidio's whole analysis (its context
    enhancement and overlap resolution included) and of the noise filters, spaCy's share apart."""
    costs: dict[str, float] = defaultdict(float)
    recognizers = analyzer.registry.get_recognizers("en", sorted(entities))
    for texts in requests:
        for text, (_, artifacts) in zip(texts, analyzer.nlp_engine.process_batch(texts, language="en"), strict=True):
            for recognizer in recognizers:
                started = time.process_time()
                recognizer.analyze(text, sorted(entities), artifacts)
                costs[recognizer.name] += time.process_time() - started
            started = time.process_time()
            findings = _analyze(analyzer, "en", text, artifacts, entities, [])
            costs["(Presidio's whole analysis)"] += time.process_time() - started
            started = time.process_time()
            without_noise(findings, text)
            costs["(noise filters)"] += time.process_time() - started
    return {name: total / len(requests) * 1000 for name, total in costs.items()}


if __name__ == "__main__":
    sys.exit(main())
