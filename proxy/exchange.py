"""The one object a request carries through the pipeline (mitmproxy's `flow`).

The pipeline fills it in stage by stage (see `proxy.pipeline`); `record` turns the finished
exchange into database rows. Nothing here knows a vendor or a wire format.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

from proxy.config import KeyLimits


@dataclass(frozen=True)
class KeyOf:
    """A path step meaning "the key itself", so a dict key can be a slot (tool arguments)."""

    key: str


JSONPath = tuple["str | int | KeyOf", ...]
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,40}$")
Action = Literal["allow", "mask", "redact", "pseudonymize", "hash", "block"]
DecisionKind = Literal["allow", "transform", "block"]
#: how much of a request its record keeps, from most to least (see proxy/governance/capture.py)
Capture = Literal["full", "redacted", "metadata", "none"]


@dataclass(frozen=True)
class Caller:
    """Who sent the request, as established by `authenticate`."""

    key_name: str
    team: str
    limits: KeyLimits = KeyLimits()

    def may_use(self, model: str) -> bool:
        allowed = self.limits.models
        return allowed is None or any(fnmatchcase(model, glob) for glob in allowed)


@dataclass(frozen=True)
class Slot:
    """One piece of text inside a JSON body.

    `path` leads from the body to a string. When that string is itself JSON (tool-call
    arguments), `pointer` leads from the parsed string to the leaf, so detection sees decoded
    text and a restored value is escaped for JSON.
    """

    path: JSONPath
    text: str
    pointer: JSONPath | None = None
    #: the value names the end user to the vendor (`user`, `metadata.user_id`): its pseudonym is
    #: a keyed hash, the same in every request, so the vendor's per-user abuse tracking still works
    user_id: bool = False

    @property
    def id(self) -> str:
        """A readable name for the slot, as stored in `findings.slot`.

        Keys a client chose (tool-argument and metadata keys) can themselves be personal data,
        so any key that is not a plain identifier is written as `*`."""
        name = ".".join(_step(part) for part in self.path)
        if self.pointer is not None:
            name += "#/" + "/".join(_step(part) for part in self.pointer)
        return name


def _step(part: str | int | KeyOf) -> str:
    if isinstance(part, KeyOf):
        return "(key)"
    if isinstance(part, int) or _PLAIN_NAME.match(part):
        return str(part)
    return "*"


@dataclass(frozen=True)
class Finding:
    """A detected value: where it is, what it is, and how sure the detector is."""

    slot: int  # index into Exchange.slots
    start: int
    end: int
    entity_type: str
    score: float
    recognizer: str = ""


@dataclass(frozen=True)
class Resolution:
    """A finding with the action the policy gave it and the rule that gave it."""

    finding: Finding
    action: Action
    rule: str
    policy: str
    keep_last: int = 4
    #: "monitor": what the rule would have done, recorded but not applied
    mode: str = "enforce"


@dataclass(frozen=True)
class BlockReason:
    rule: str
    policy: str
    entity_type: str
    message: str


@dataclass
class Decision:
    """What `decide` concluded: per-finding actions and, if any, why the request is blocked."""

    resolutions: list[Resolution] = field(default_factory=list)
    block: BlockReason | None = None
    #: monitor-mode outcomes: recorded, never applied
    monitored: list[Resolution] = field(default_factory=list)
    would_block: BlockReason | None = None

    @property
    def kind(self) -> DecisionKind:
        if self.block is not None:
            return "block"
        if any(r.action != "allow" for r in self.resolutions):
            return "transform"
        return "allow"

    @property
    def monitor_kind(self) -> DecisionKind:
        """What the decision would have been had monitor-mode rules been enforced."""
        if self.block is not None or self.would_block is not None:
            return "block"
        if any(r.action not in ("allow", "block") for r in [*self.resolutions, *self.monitored]):
            return "transform"
        return "block" if any(r.action == "block" for r in self.monitored) else "allow"


@dataclass
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@dataclass
class Timings:
    """Milliseconds spent in each stage; `started` is a perf_counter reading."""

    started: float = field(default_factory=time.perf_counter)
    detect_ms: float | None = None
    upstream_ms: float | None = None
    total_ms: float | None = None

    def since_start_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


def new_request_id() -> str:
    return "req_" + uuid.uuid4().hex


@dataclass
class Exchange:
    """Everything known about one request, filled in stage by stage."""

    endpoint: str
    id: str = field(default_factory=new_request_id)
    created_at: float = field(default_factory=time.time)
    subject: str | None = None
    conversation: str | None = None
    tags: list[str] = field(default_factory=list)
    capture: Capture = "full"  # what the record keeps: X-Proxy-Capture, bounded by the policies
    keep_blocked_original: bool = False  # settings.keep_blocked_originals of every policy in force
    capture_downgrade: Capture | None = None  # the lower level a client asked for and was granted (audited)
    caller: Caller | None = None
    raw_body: bytes = b""
    body: dict[str, Any] | None = None
    model: str | None = None
    stream: bool = False
    upstream: str | None = None
    slots: list[Slot] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)  # "id@version" of every policy applied
    policy_digest: str | None = None  # content hash of the policy set in force
    findings: list[Finding] = field(default_factory=list)
    decision: Decision | None = None  # None until `decide` has run
    forwarded: dict[str, Any] | None = None
    pseudonyms: dict[str, str] = field(default_factory=dict)  # placeholder -> original value
    response_received: Any = None  # the vendor's body (JSON, or a stream assembled into one)
    response_returned: Any = None  # what the client got, after restoration
    response_findings: list[tuple[Slot, Resolution]] = field(default_factory=list)  # response-direction rules
    unknown_placeholders: int = 0
    usage: Usage = field(default_factory=Usage)
    timings: Timings = field(default_factory=Timings)
    status: str = "pending"
    http_status: int | None = None
    error: str | None = None  # a safe message: it never holds a value from the request
