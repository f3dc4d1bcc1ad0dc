"""What a policy file may say, as pydantic models: the loader validates every file against these.

policies/README.md is the reference for compliance staff; `tests/test_docs.py` fails when a
field here is missing from its annotated example.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from proxy.detection.custom import CustomRecognizerSpec
from proxy.exchange import Action, Capture

POLICY_ID = r"^[a-z0-9][a-z0-9_.-]*$"
Mode = Literal["enforce", "monitor"]
Direction = Literal["request", "response"]
#: When rules disagree the stronger action wins: block > redact > hash > mask > pseudonymize > allow.
STRENGTH: dict[Action, int] = {"allow": 0, "pseudonymize": 1, "mask": 2, "hash": 3, "redact": 4, "block": 5}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RequestContext(_Model):
    """Who is asking for what: matched against `applies_to`."""

    team: str = "default"
    key: str = "anonymous"
    upstream: str = ""
    model: str = ""
    endpoint: str = "openai-chat"


class AppliesTo(_Model):
    """Which requests a policy (or exception) covers; globs allowed; every listed dimension must match."""

    teams: list[str] = []
    keys: list[str] = []
    upstreams: list[str] = []
    models: list[str] = []
    endpoints: list[str] = []

    def matches(self, context: RequestContext) -> bool:
        dimensions = [
            (self.teams, context.team),
            (self.keys, context.key),
            (self.upstreams, context.upstream),
            (self.models, context.model),
            (self.endpoints, context.endpoint),
        ]
        return all(not globs or any(fnmatch.fnmatchcase(value, g) for g in globs) for globs, value in dimensions)


class Settings(_Model):
    #: findings below this score are ignored unless a rule says otherwise
    min_score: float = Field(0.5, ge=0, le=1)
    #: languages the prompts are in (the detector's model must support them)
    languages: list[str] = ["en"]
    #: what happens when detection fails: block (default, nothing unscanned leaves) or allow
    on_detector_error: Literal["block", "allow"] = "block"
    #: images, audio and files cannot be scanned: block the request, allow them through, or strip them
    unscannable_parts: Literal["block", "allow", "strip"] = "allow"
    #: refuse prompts with more text than this (scanning time grows with length)
    max_scan_chars: int | None = Field(None, gt=0)
    #: what records keep: full | redacted | metadata | none; the strictest policy in force wins
    capture: Capture = "full"
    #: the least a record keeps, whatever a client asks with X-Proxy-Capture (asking for less: 403)
    min_capture: Capture = "none"
    #: let clients ask for `X-Proxy-Capture: none` even when their key may not (every policy in force must allow it)
    allow_capture_none: bool = False
    #: keep (sealed) the original of a request a rule blocked; default: only its findings and
    #: their keyed hashes are kept; every policy in force must say true
    keep_blocked_originals: bool = False


class Rule(_Model):
    """What to do with the kinds of data it lists."""

    id: str = Field(pattern=POLICY_ID)
    description: str = ""
    #: entity types (PERSON, EMAIL_ADDRESS, a detector's entity) and groups (group:secrets)
    detect: list[str] = Field(min_length=1)
    action: Action
    #: findings scoring below this are ignored by this rule
    min_score: float | None = Field(None, ge=0, le=1)
    #: the rule only applies when it finds at least this many values in one request
    min_count: int = Field(1, ge=1)
    #: request (what is sent to the vendor) and/or response (what the model writes back)
    directions: list[Direction] = ["request"]
    #: for `mask`: how many trailing characters stay visible
    keep_last: int = Field(4, ge=0)
    #: for `block`: what the client is told (never the value itself)
    message: str | None = None
    #: an inheriting policy or an exception cannot relax this rule
    locked: bool = False
    #: monitor: record what the rule would have done, change nothing
    mode: Mode | None = None

    @field_validator("message")
    @classmethod
    def _trimmed(cls, message: str | None) -> str | None:
        """A `message: >` block ends in a newline that clients would see: trimmed."""
        return message.strip() if message is not None else None


class Examples(_Model):
    should_match: list[str] = []
    should_not_match: list[str] = []


class Detector(CustomRecognizerSpec):
    """A custom recognizer, with examples that `policy check` runs."""

    examples: Examples = Examples()


class PolicyException(_Model):
    """A time-boxed, approved relaxation of this policy's rules."""

    id: str = Field(pattern=POLICY_ID)
    reason: str = Field(min_length=1)
    approved_by: str = Field(min_length=1)
    #: the last day the exception applies
    expires: date
    #: the kinds of data it relaxes (empty: every kind)
    entities: list[str] = []
    #: only these values (compared case-insensitively) ...
    allow_values: list[str] = []
    #: ... or values matching these regular expressions (whole value); neither: every value
    allow_patterns: list[str] = []
    #: a narrower scope than the policy's
    applies_to: AppliesTo = AppliesTo()

    @field_validator("allow_patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression ({exc})") from None
        return patterns

    def active(self, today: date) -> bool:
        return today <= self.expires


class RequestRules(_Model):
    """Rules about the request as a whole, not about what is in it."""

    allowed_models: list[str] = []
    denied_models: list[str] = []
    allowed_upstreams: list[str] = []
    denied_upstreams: list[str] = []
    #: phrases that block the request wherever they appear (case-insensitive)
    deny_phrases: list[str] = []
    #: most characters of text one request may send
    max_prompt_chars: int | None = Field(None, gt=0)


class Expectation(_Model):
    decision: Literal["allow", "transform", "block"] | None = None
    #: the text the vendor should receive (for `input` cases)
    forwarded: str | None = None
    #: entity types that must be found
    entities: list[str] | None = None
    #: the rule that must decide (for a block: the blocking rule)
    rule: str | None = None


class PolicyTest(_Model):
    """A case `privacy-proxy policy test` runs: an input and what the proxy must do with it."""

    name: str
    input: str | None = None
    body: dict[str, Any] | None = None
    as_: RequestContext = Field(RequestContext(), alias="as")
    #: the day the case is judged on (default: today); pin it when the case relies on an
    #: exception's `expires`, so the test does not start failing on a later day
    today: date | None = None
    expect: Expectation

    @model_validator(mode="after")
    def _one_input(self) -> PolicyTest:
        if (self.input is None) == (self.body is None):
            raise ValueError("a test needs exactly one of `input` (text) or `body` (a whole chat request)")
        return self


class Policy(_Model):
    """One policy file."""

    id: str = Field(pattern=POLICY_ID)
    title: str = ""
    description: str = ""
    owner: str = ""
    version: int = Field(1, ge=1)
    status: Literal["draft", "active", "retired"] = "active"
    mode: Mode = "enforce"
    #: a baseline policy (by id) whose rules this one adds to or overrides by rule id
    inherits: str | None = Field(None, pattern=POLICY_ID)
    applies_to: AppliesTo = AppliesTo()
    settings: Settings = Settings()
    rules: list[Rule] = []
    detectors: list[Detector] = []
    exceptions: list[PolicyException] = []
    request: RequestRules = RequestRules()
    #: values that are never treated as personal data (compared case-insensitively)
    allow: list[str] = []
    #: phrases whose words are never findings wherever they appear (`medical record`), whole
    #: words, any capitalisation; like `allow`, they never relax a locked rule
    allow_phrases: list[str] = []
    tests: list[PolicyTest] = []

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

    def rule_mode(self, rule: Rule) -> Mode:
        """A rule's own mode, else the policy's. A monitor policy changes nothing, locked rules
        included: what it inherits stays enforced by its parent, which it never replaces."""
        return "monitor" if self.mode == "monitor" else (rule.mode or "enforce")
