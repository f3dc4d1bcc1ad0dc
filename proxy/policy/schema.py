"""What a policy file may say, as pydantic models: the loader validates every file against these.

Field docstrings double as the reference in policies/README.md, so keep them plain English.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from proxy.exchange import Action

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


class Detector(_Model):
    """A custom recognizer: regex patterns and/or a list of words, reported as entity `entity`."""

    entity: str = Field(pattern=ENTITY_NAME)
    description: str = ""
    patterns: list[Pattern] = []
    #: whole words or phrases, matched case-insensitively
    words: list[str] = []
    #: words near a match that raise its score
    context: list[str] = []

    @model_validator(mode="after")
    def _finds_something(self) -> Detector:
        if not self.patterns and not self.words:
            raise ValueError("a detector needs `patterns` or `words`")
        return self


class Rule(_Model):
    """What to do with the entity types it lists."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str = ""
    #: entity types (PERSON, EMAIL_ADDRESS, ... or a detector's entity)
    detect: list[str] = Field(min_length=1)
    action: Action
    #: findings scoring below this are ignored by this rule
    min_score: float | None = Field(None, ge=0, le=1)
    #: for `mask`: how many trailing characters stay visible
    keep_last: int = Field(4, ge=0)
    #: for `block`: what the client is told (never the value itself)
    message: str | None = None


class Settings(_Model):
    #: findings below this score are ignored unless a rule says otherwise
    min_score: float = Field(0.5, ge=0, le=1)


class Policy(_Model):
    """One policy file."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    title: str = ""
    description: str = ""
    owner: str = ""
    version: int = Field(1, ge=1)
    status: Literal["draft", "active", "retired"] = "active"
    settings: Settings = Settings()
    rules: list[Rule] = []
    detectors: list[Detector] = []
    #: values that are never treated as personal data (compared case-insensitively)
    allow: list[str] = []

    @field_validator("rules")
    @classmethod
    def _rule_ids_unique(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return rules

    @property
    def label(self) -> str:
        """How the policy is named in headers and records: `id@version`."""
        return f"{self.id}@{self.version}"

    def entities(self) -> set[str]:
        """Entity types this policy acts on or wants recorded; detection runs for these only."""
        return {entity for rule in self.rules for entity in rule.detect}
