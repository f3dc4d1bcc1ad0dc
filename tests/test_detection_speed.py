"""Shortcuts taken for speed must not change what is found."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from presidio_analyzer import PatternRecognizer, RecognizerRegistry
from presidio_analyzer.predefined_recognizers import PhoneRecognizer
from spacy.tokens import Doc
from thinc.api import NumpyOps

from proxy.config import DetectionConfig
from proxy.detection import DetectionEngine
from proxy.detection.builtin import PHONE_REGIONS, GatedPhoneRecognizer
from proxy.detection.engine import TOKENIZER_RUN, analyze_texts, tokenizable
from proxy.detection.registry import RememberingRegistry
from proxy.detection.spacy_model import InstalledSpacyEngine, load_model

from .conftest import REPO

EXTRA = [
    "Call +1 (415) 555-0132 ext. 12 or 020 7946 0958; fax 030/12345678.",
    "Numbers 0612345678, 06-12345678 and +31 6 12345678 in one line, then 1234567 and 12-34-56.",
    "Order 4481-2201-9934 shipped; tracking 1Z999AA10123456784; ISBN 978-3-16-148410-0.",
    "No digits at all here, only words about telephones and calling.",
    "Tel 028    2253110132 or (0)9    4409896663, ext. 1577: 015083 ext. 1577 and 058724x20135.",
]
# Layouts that trip a shortcut: wide gaps, tabs, brackets, extensions, numbers run together.
SEPARATORS = [" ", "  ", "    ", "     ", "\t", "-", ".", "/", ") ", " (", "(0)", " - ", ", ", "\n", "", "x", " ext. "]
WORDS = ["Tel ", "call ", "or ", "+", "+49 ", "+1 ", "(", "mobile: ", "No. ", "#"]


def _awkward_layouts(count: int, seed: int = 1) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 8)):
            kind = rng.random()
            if kind < 0.6:
                parts.append("".join(rng.choice("0123456789") for _ in range(rng.randint(1, 11))))
            else:
                parts.append(rng.choice(SEPARATORS if kind < 0.8 else WORDS))
            parts.append(rng.choice(SEPARATORS))
        yield "".join(parts)


def _texts() -> list[str]:
    path = REPO / "proxy" / "evaluation" / "data" / "eval_set.jsonl"
    texts = [
        message["content"]
        for line in path.read_text().splitlines()
        for message in json.loads(line)["body"]["messages"]
        if isinstance(message.get("content"), str)
    ]
    return texts + EXTRA


def _spans(recognizer: PhoneRecognizer, text: str) -> set[tuple[int, int, float]]:
    """What survives the noise filter, which drops "phone numbers" of fewer than seven digits."""
    found = recognizer.analyze(text, ["PHONE_NUMBER"], None)
    return {(r.start, r.end, r.score) for r in found if sum(c.isdigit() for c in text[r.start : r.end]) >= 7}


def test_the_gated_phone_recognizer_finds_exactly_what_presidios_finds() -> None:
    texts = _texts()
    assert len(texts) > 800
    plain = PhoneRecognizer(supported_regions=PHONE_REGIONS)
    gated = GatedPhoneRecognizer(supported_regions=PHONE_REGIONS)
    found = 0
    for text in texts:
        expected = _spans(plain, text)
        assert _spans(gated, text) == expected, text
        found += len(expected)
    assert found > 100  # the corpus does hold phone numbers


def test_the_gated_phone_recognizer_reads_awkward_layouts_as_presidio_does() -> None:
    plain = PhoneRecognizer(supported_regions=PHONE_REGIONS)
    gated = GatedPhoneRecognizer(supported_regions=PHONE_REGIONS)
    found = 0
    for text in _awkward_layouts(2000):
        expected = _spans(plain, text)
        assert _spans(gated, text) == expected, repr(text)
        found += len(expected)
    assert found > 500


def _entities(docs: Iterable[Doc]) -> list[list[tuple[int, int, str]]]:
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs]


def test_spacy_finds_the_same_entities_batched_and_with_numpys_matrix_product() -> None:
    """The model runs the request's texts as one batch, with numpy's BLAS instead of blis: both
    only change how the arithmetic is grouped, and on the evaluation set no entity moves."""
    texts = _texts()
    name = DetectionConfig().spacy_model
    ours, blis = load_model(name), load_model(name, ops=NumpyOps(use_blis=True))
    assert ours.get_pipe("ner").model.ops.use_blis is False
    one_by_one = _entities(blis.pipe(texts, batch_size=1))
    assert sum(map(len, one_by_one)) > 500
    assert _entities(ours.pipe(texts, batch_size=len(texts))) == one_by_one


def test_presidio_gets_one_spacy_batch_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Presidio's own `process_batch` asks spaCy for batches of one text, and spaCy's NER runs a
    batch in quarters: a batch must hold at least four times the texts to run the model once."""
    engine = InstalledSpacyEngine(models=[{"lang_code": "en", "model_name": DetectionConfig().spacy_model}])
    engine.load()
    assert engine.nlp is not None
    nlp, batch_sizes = engine.nlp["en"], []
    real_pipe = nlp.pipe

    def pipe(texts: Iterable[str], batch_size: int | None = None, **options: Any) -> Iterator[Doc]:
        batch_sizes.append(batch_size)
        return real_pipe(texts, batch_size=batch_size, **options)

    monkeypatch.setattr(nlp, "pipe", pipe)
    texts = ["Anna Kowalska called.", "Ship it to Berlin.", "Nothing here."]
    artifacts = list(engine.process_batch(texts, language="en"))
    assert [text for text, _ in artifacts] == texts
    assert [[e.text for e in a.entities] for _, a in artifacts][1] == ["Berlin"]
    assert len(batch_sizes) == 1
    assert (batch_sizes[0] or nlp.batch_size) >= 4 * len(texts)


def test_the_registry_answers_from_memory_what_presidio_would() -> None:
    plain = RecognizerRegistry()
    plain.load_predefined_recognizers()
    remembering = RememberingRegistry(plain)
    entities = ["EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN"]
    expected = {r.name for r in plain.get_recognizers("en", entities)}
    first, second = remembering.get_recognizers("en", entities), remembering.get_recognizers("en", entities)
    assert {r.name for r in first} == {r.name for r in second} == expected
    extra = PatternRecognizer(supported_entity="US_SSN", name="ExtraSsn", deny_list=["000-00-0000"])
    assert "ExtraSsn" in {r.name for r in remembering.get_recognizers("en", entities, ad_hoc_recognizers=[extra])}
    remembering.add_recognizer(extra)
    assert "ExtraSsn" in {r.name for r in remembering.get_recognizers("en", entities)}
    remembering.remove_recognizer("ExtraSsn")
    assert {r.name for r in remembering.get_recognizers("en", entities)} == expected


def test_spacy_never_reads_a_long_run_whole_and_the_patterns_still_read_the_text(detector: DetectionEngine) -> None:
    """spaCy's tokenizer costs the square of a run without spaces (8,000 brackets held a detection
    process for 17 s), so it reads long runs broken every `TOKENIZER_RUN` characters. The text
    keeps its length, and the pattern recognizers read the text itself: an e-mail address across
    a break is still found whole."""
    e_mail = "jane.doe@acme-mail.de"
    run = "(" * (TOKENIZER_RUN - 10) + e_mail + ")" * 5000
    text = f"Anna Kowalska pasted this: {run} and left."
    broken = tokenizable(text)
    assert len(broken) == len(text) and broken != text
    assert max(map(len, broken.split())) < TOKENIZER_RUN
    assert (
        tokenizable("Anna Kowalska wrote to jane.doe@acme-mail.de.") == "Anna Kowalska wrote to jane.doe@acme-mail.de."
    )
    findings = analyze_texts(detector.analyzer, "en", [text], {"EMAIL_ADDRESS", "PERSON"}, [])[0]
    found = {(text[f.start : f.end], f.entity_type) for f in findings}
    assert (e_mail, "EMAIL_ADDRESS") in found
    assert ("Anna Kowalska", "PERSON") in found
