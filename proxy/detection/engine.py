"""The `detect` stage: run Presidio over every slot of a request in one batch.

The analyzer is built once at start-up (loading spaCy takes seconds) and used from one worker
thread, so detection never blocks the event loop and spaCy is never entered concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import tldextract
import tldextract.tldextract
from presidio_analyzer import AnalyzerEngine, EntityRecognizer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts

from proxy.config import DetectionConfig
from proxy.detection.builtin import builtin_recognizers
from proxy.detection.custom import CustomRecognizerSpec
from proxy.detection.noise import without_noise
from proxy.detection.recognizers import custom_recognizers
from proxy.detection.secrets import secret_recognizers
from proxy.detection.spacy_model import InstalledSpacyEngine
from proxy.errors import DetectionFailed
from proxy.exchange import Finding, Slot

log = logging.getLogger(__name__)
Specs = Sequence[CustomRecognizerSpec]


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
    for recognizer in [
        *secret_recognizers(config.language),
        *builtin_recognizers(config.language),
    ]:  # ours, beside Presidio's
        analyzer.registry.add_recognizer(recognizer)
    return analyzer


class DetectionEngine:
    """Presidio's analyzer behind one worker thread, with the policy's recognizers added per call."""

    def __init__(self, analyzer: AnalyzerEngine, language: str = "en") -> None:
        self.analyzer = analyzer
        self.language = language
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect")

    def supported_entities(self) -> set[str]:
        return set(self.analyzer.get_supported_entities(self.language))

    async def detect(self, slots: list[Slot], entities: set[str], detectors: Specs) -> list[Finding]:
        """Findings for `entities` in every slot. Any failure raises `DetectionFailed`: we fail
        closed, and the message carries no text, since an exception can quote its input."""
        if not entities or not slots:
            return []
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self.detect_sync, slots, entities, detectors)
        except Exception as exc:
            log.error("detection failed: %s", type(exc).__name__)
            raise DetectionFailed("PII detection failed, so the request was not sent to the vendor.") from None

    def detect_sync(self, slots: list[Slot], entities: set[str], detectors: Specs) -> list[Finding]:
        recognizers = custom_recognizers(detectors, self.language)
        texts = [slot.text for slot in slots]
        artifacts = self.analyzer.nlp_engine.process_batch(texts, language=self.language)
        findings: list[Finding] = []
        for index, (text, nlp_artifacts) in enumerate(artifacts):
            findings.extend(without_noise(self._analyze(index, text, nlp_artifacts, entities, recognizers), text))
        return findings

    def _analyze(
        self,
        index: int,
        text: str,
        nlp_artifacts: NlpArtifacts,
        entities: Iterable[str],
        recognizers: list[EntityRecognizer],
    ) -> list[Finding]:
        results = self.analyzer.analyze(
            text=text,
            language=self.language,
            entities=list(entities),
            nlp_artifacts=nlp_artifacts,
            ad_hoc_recognizers=recognizers or None,
        )
        return [
            Finding(
                slot=index,
                start=r.start,
                end=r.end,
                entity_type=r.entity_type,
                score=float(r.score),
                recognizer=(r.recognition_metadata or {}).get("recognizer_name", ""),
            )
            for r in results
        ]

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
