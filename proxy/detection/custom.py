"""What a custom recognizer is made of: regex patterns and word lists, with context words.

Policies declare these in YAML (`detectors:`); `recognizers.py` turns them into Presidio
recognizers. Defined here, not in `policy/`, so that detection does not depend on policy code.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ENTITY_NAME = r"^[A-Z][A-Z0-9_]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pattern(_Model):
    """A regular expression that finds a custom entity."""

    regex: str
    #: how sure a match is, from 0 to 1
    score: float = Field(0.8, ge=0, le=1)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc})") from None
        return value


class CustomRecognizerSpec(_Model):
    """A custom recognizer: regex patterns and/or a list of words, reported as entity `entity`."""

    entity: str = Field(pattern=ENTITY_NAME)
    description: str = ""
    patterns: list[Pattern] = []
    #: whole words or phrases, matched case-insensitively
    words: list[str] = []
    #: words near a match that raise its score (any inflection: the lemma is compared)
    context: list[str] = []
    #: true: a match counts only with one of the `context` words among the five words before it
    requires_context: bool = False

    @model_validator(mode="after")
    def _finds_something(self) -> CustomRecognizerSpec:
        if not self.patterns and not self.words:
            raise ValueError("a detector needs `patterns` or `words`")
        if self.requires_context and not self.context:
            raise ValueError("`requires_context: true` needs `context` words")
        return self
