"""The `detect` stage: Presidio over every slot of a request, off the event loop, once per text.

The analyzer is built once at start-up (loading spaCy takes seconds). A request's slots go
through the analysis cache first (a resent history is not analysed again); the rest run either in
a pool of detection processes (`pool.py`: every core, one spaCy batch per process) or, with
`detection.processes: 0`, on one worker thread of this process (spaCy is never entered
concurrently). Both paths call `analyze_texts`, so they give the same findings.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import tldextract
import tldextract.tldextract
from presidio_analyzer import AnalyzerEngine, EntityRecognizer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from proxy.config import DetectionConfig
from proxy.detection.builtin import builtin_recognizers, phone_windows
from proxy.detection.cache import AnalysisCache, scope_of
from proxy.detection.custom import CustomRecognizerSpec
from proxy.detection.noise import SPACY, SupportedModelRecognizer, without_noise
from proxy.detection.places import place_names
from proxy.detection.pool import DetectionPool, PoolStarting, detection_processes
from proxy.detection.recognizers import custom_recognizers
from proxy.detection.registry import RememberingRegistry
from proxy.detection.secrets import secret_recognizers
from proxy.detection.spacy_model import InstalledSpacyEngine
from proxy.errors import DetectionFailed, Overloaded
from proxy.exchange import Finding, Slot

log = logging.getLogger(__name__)
Specs = Sequence[CustomRecognizerSpec]
TOKENIZER_RUN = 100  # characters without a space that spaCy reads as one run (see `tokenizable`)


def use_bundled_suffix_list() -> None:
    """Presidio's e-mail recognizer calls `tldextract.extract`, which would fetch the public
    suffix list from the internet on first use; point it at the snapshot tldextract ships."""
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


# spaCy's NER labels as Presidio entities (Presidio's own conf/default.yaml); the ignored labels
# are mostly false alarms in prompts and nothing in a policy can name them.
NER_MODEL_CONFIGURATION = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON", "PERSON": "PERSON", "NORP": "NRP", "FAC": "LOCATION", "LOC": "LOCATION",
        "GPE": "LOCATION", "LOCATION": "LOCATION", "ORG": "ORGANIZATION", "ORGANIZATION": "ORGANIZATION",
        "DATE": "DATE_TIME", "TIME": "DATE_TIME",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": [],
    "labels_to_ignore": [
        "ORGANIZATION", "CARDINAL", "EVENT", "LANGUAGE", "LAW", "MONEY", "ORDINAL", "PERCENT",
        "PRODUCT", "QUANTITY", "WORK_OF_ART",
    ],
}  # fmt: skip


def build_analyzer(config: DetectionConfig) -> AnalyzerEngine:
    """Presidio's analyzer with the configured spaCy model, offline."""
    use_bundled_suffix_list()
    nlp_engine = InstalledSpacyEngine(
        models=[{"lang_code": config.language, "model_name": config.spacy_model}],
        ner_model_configuration=NerModelConfiguration.from_dict(NER_MODEL_CONFIGURATION),
    )
    nlp_engine.load()
    presidio_log = logging.getLogger("presidio-analyzer")
    # Presidio logs one line per recognizer it skips for other languages, and one per ad-hoc
    # recognizer on every request; keep its warnings about real problems only.
    presidio_log.setLevel(logging.ERROR)
    try:
        analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=[config.language])
    finally:
        presidio_log.setLevel(logging.WARNING)
    analyzer.registry.remove_recognizer("PhoneRecognizer")  # replaced by its gated twin below
    [model] = [r for r in analyzer.registry.recognizers if isinstance(r, SpacyRecognizer)]
    analyzer.registry.remove_recognizer(SPACY)  # replaced by the twin that narrows persons first
    analyzer.registry.add_recognizer(
        SupportedModelRecognizer(
            supported_language=config.language, supported_entities=model.supported_entities, name=SPACY
        )
    )
    for recognizer in [
        *secret_recognizers(config.language),
        *builtin_recognizers(config.language),
    ]:  # ours, beside Presidio's
        analyzer.registry.add_recognizer(recognizer)
    analyzer.registry = RememberingRegistry(analyzer.registry)
    place_names()  # read the gazetteer now, not during the first request
    return analyzer


def analyze_texts(
    analyzer: AnalyzerEngine, language: str, texts: list[str], entities: set[str], detectors: Specs
) -> list[list[Finding]]:
    """Findings per text (all with slot 0), the texts in one spaCy batch. The one analysis both the
    worker thread and the pool processes run."""
    recognizers = custom_recognizers(detectors, language)
    artifacts = analyzer.nlp_engine.process_batch([tokenizable(text) for text in texts], language=language)
    return [
        without_noise(_analyze(analyzer, language, text, nlp_artifacts, entities, recognizers), text)
        for text, (_, nlp_artifacts) in zip(texts, artifacts, strict=True)
    ]


_LONG_RUN = re.compile(rf"\S{{{TOKENIZER_RUN},}}")


def tokenizable(text: str) -> str:
    """`text` as spaCy reads it: every `TOKENIZER_RUN`-th character of a long run without
    spaces becomes a space. spaCy's tokenizer strips a run's prefixes and suffixes one at a time,
    so its cost grows with the square of the run (8,000 brackets took 17 s, and held a detection
    process past the request's budget). Same length, so spaCy's offsets are the text's offsets;
    the pattern recognizers still read the text itself."""
    return _LONG_RUN.sub(_break_run, text) if len(text) > TOKENIZER_RUN else text


def _break_run(match: re.Match[str]) -> str:
    characters = list(match.group(0))
    characters[TOKENIZER_RUN - 1 :: TOKENIZER_RUN] = " " * (len(characters) // TOKENIZER_RUN)
    return "".join(characters)


def _analyze(
    analyzer: AnalyzerEngine,
    language: str,
    text: str,
    nlp_artifacts: NlpArtifacts,
    entities: Iterable[str],
    recognizers: list[EntityRecognizer],
) -> list[Finding]:
    results = analyzer.analyze(
        text=text,
        language=language,
        entities=sorted(entities),  # a set iterates differently in every process: keep ties stable
        nlp_artifacts=nlp_artifacts,
        ad_hoc_recognizers=recognizers or None,
    )
    return [
        Finding(
            slot=0,
            start=r.start,
            end=r.end,
            entity_type=r.entity_type,
            score=float(r.score),
            recognizer=(r.recognition_metadata or {}).get("recognizer_name", ""),
        )
        for r in results
    ]


# What parsing the text around one possible phone number costs, in characters of ordinary text
# (spaCy and the regular expressions): `phonenumbers` tries region after region, in pure Python.
PHONE_WINDOW_COST = 40


def analysis_cost(text: str) -> int:
    """A text's expected analysis time, in characters: its length, plus its phone windows."""
    return len(text) + PHONE_WINDOW_COST * len(phone_windows(text))


def balanced_chunks(texts: list[str], count: int) -> list[list[int]]:
    """Indexes of `texts` in at most `count` groups of similar expected cost (costliest first onto
    the lightest group), so the processes of a pool finish a request at about the same time."""
    groups: list[list[int]] = [[] for _ in range(min(count, len(texts)))]
    sizes = [0] * len(groups)
    costs = [analysis_cost(text) for text in texts]
    for index in sorted(range(len(texts)), key=lambda i: -costs[i]):
        lightest = sizes.index(min(sizes))
        groups[lightest].append(index)
        sizes[lightest] += costs[index]
    return [group for group in groups if group]


class DetectionEngine:
    """Presidio behind the analysis cache, in a process pool or one worker thread, with the
    policy's recognizers added per call.

    Built directly it has no cache and no pool (the CLI and the test suite use it so);
    `from_config` gives the server's engine."""

    def __init__(
        self,
        analyzer: AnalyzerEngine,
        language: str = "en",
        *,
        pool: DetectionPool | None = None,
        cache_entries: int = 0,
    ) -> None:
        self.analyzer = analyzer
        self.language = language
        self.pool = pool
        self.cache = AnalysisCache(cache_entries)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect")

    @classmethod
    def from_config(cls, config: DetectionConfig) -> DetectionEngine:
        """The server's engine: `detection.processes` processes (started before this returns)
        and a cache of `detection.cache_entries` texts."""
        processes = detection_processes(config)
        pool = DetectionPool(config, processes) if processes else None
        warming = ThreadPoolExecutor(max_workers=1).submit(pool.warm_up) if pool else None
        analyzer = build_analyzer(config)  # while the pool's processes load theirs
        if warming is not None:
            log.info("detection: %d processes ready", len(warming.result()))
        return cls(analyzer, config.language, pool=pool, cache_entries=config.cache_entries)

    @classmethod
    def in_process(cls, config: DetectionConfig) -> DetectionEngine:
        """A command's engine (`policy`, `eval`, `export`): one thread, no processes, no cache."""
        return cls(build_analyzer(config), config.language)

    def supported_entities(self) -> set[str]:
        return set(self.analyzer.get_supported_entities(self.language))

    async def detect(self, slots: list[Slot], entities: set[str], detectors: Specs) -> list[Finding]:
        """Findings for `entities` in every slot. Any failure raises `DetectionFailed`: we fail
        closed, and the message carries no text, since an exception can quote its input."""
        if not entities or not slots:
            return []
        try:
            per_slot = await self._per_slot([slot.text for slot in slots], entities, detectors)
        except PoolStarting:  # not a detection failure a policy may let through unscanned: retry soon
            raise Overloaded("The PII detector is restarting; try again in a few seconds.") from None
        except Exception as exc:
            log.error("detection failed: %s", type(exc).__name__)
            raise DetectionFailed("PII detection failed, so the request was not sent to the vendor.") from None
        return [replace(f, slot=index) for index, findings in enumerate(per_slot) for f in findings]

    async def _per_slot(self, texts: list[str], entities: set[str], detectors: Specs) -> list[Sequence[Finding]]:
        """Each text's findings: from the cache, or analysed (and then cached)."""
        if self.cache.max_entries <= 0:
            return list(await self._analyze(texts, entities, detectors))
        scope = scope_of(entities, detectors)
        keys = [self.cache.key(text, scope) for text in texts]
        found: list[Sequence[Finding] | None] = [self.cache.get(key) for key in keys]
        missing = [index for index, findings in enumerate(found) if findings is None]
        if missing:
            fresh = await self._analyze([texts[index] for index in missing], entities, detectors)
            for index, findings in zip(missing, fresh, strict=True):
                self.cache.put(keys[index], findings)
                found[index] = findings
        return [findings or () for findings in found]

    async def _analyze(self, texts: list[str], entities: set[str], detectors: Specs) -> list[list[Finding]]:
        if self.pool is None:
            loop = asyncio.get_running_loop()
            slots = [Slot(("text",), text) for text in texts]
            findings = await loop.run_in_executor(self._executor, self.detect_sync, slots, entities, detectors)
            per_text: list[list[Finding]] = [[] for _ in texts]
            for finding in findings:
                per_text[finding.slot].append(replace(finding, slot=0))
            return per_text
        chunks = balanced_chunks(texts, self.pool.processes)
        results = await self.pool.analyze([[texts[i] for i in chunk] for chunk in chunks], entities, detectors)
        out: list[list[Finding]] = [[] for _ in texts]
        for chunk, chunk_findings in zip(chunks, results, strict=True):
            for index, findings in zip(chunk, chunk_findings, strict=True):
                out[index] = findings
        return out

    def detect_sync(self, slots: list[Slot], entities: set[str], detectors: Specs) -> list[Finding]:
        """Every slot analysed in this thread, no cache: findings name their slot by index."""
        per_text = analyze_texts(self.analyzer, self.language, [slot.text for slot in slots], entities, detectors)
        return [replace(f, slot=index) for index, findings in enumerate(per_text) for f in findings]

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self.pool is not None:
            self.pool.close()
