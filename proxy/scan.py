"""One scan: what the proxy does to the text of a body, composed in exactly one place.

    extract → canonicalise → limit → detect → propagate → decide → downgrade → transform → write

The live pipeline, the dry runs (`policy explain`, `policy test`, `eval`) and the response guard
all call a `Scanner`, so what a dry run reports is what the proxy does. A scan never raises for a
policy outcome: a block (by a rule, a request-level rule, `max_scan_chars` or `unscannable_parts`)
is a `Decision` whose `block` is set; the pipeline refuses the request, a dry run reports it. Only
a detection failure that a policy's `on_detector_error` does not let through raises
(`DetectionFailed`), and a body its dialect cannot read raises `BadRequest`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from proxy.detection import DetectionEngine
from proxy.detection.propagate import propagate
from proxy.detection.trim import trim
from proxy.dialects import Dialect
from proxy.dialects.paths import get_at, write_slots
from proxy.errors import DetectionFailed, PolicyBlocked
from proxy.exchange import BlockReason, Decision, Finding, JSONPath, Slot
from proxy.hashing import Hasher
from proxy.policy.bundle import PolicySet, detectors_of, entities_of
from proxy.policy.decide import decide
from proxy.policy.schema import Direction, Policy, RequestContext
from proxy.transform import transform

UNSCANNED = "detection failed; forwarded unscanned, as the policies' on_detector_error allows"


@dataclass
class Scan:
    """Everything one scan concluded, for the pipeline to act on and a dry run to report."""

    direction: Direction
    policies: list[Policy]
    slots: list[Slot]  # as extracted (and canonicalised): what detection read
    findings: list[Finding] = field(default_factory=list)
    decision: Decision = field(default_factory=Decision)  # resolutions after the surface's downgrades
    texts: dict[int, str] = field(default_factory=dict)  # new text of each slot that changes
    pseudonyms: dict[str, str] = field(default_factory=dict)  # placeholder -> original value
    unscannable: list[JSONPath] = field(default_factory=list)  # parts stripped from the forwarded body
    unscanned: bool = False  # detection failed and every policy in force let the text through unscanned
    #: request direction, unless blocked: the body the vendor receives, and its exact bytes
    forwarded: dict[str, Any] | None = None
    forwarded_bytes: bytes | None = None

    def refusal(self) -> PolicyBlocked | None:
        """The error that refuses this request, when the decision blocks it."""
        block = self.decision.block
        return None if block is None else PolicyBlocked(block.message, rule=block.rule, entity_type=block.entity_type)


@dataclass(frozen=True)
class Scanner:
    """What every scan of one request uses: the policies in force, who asks, the detector, the
    hash key, and the day exceptions are judged on (None: today; `policy test` cases may pin it)."""

    policies: list[Policy]
    context: RequestContext
    detector: DetectionEngine
    hasher: Hasher
    today: date | None = None

    @classmethod
    def select(
        cls,
        policy_set: PolicySet,
        context: RequestContext,
        detector: DetectionEngine,
        hasher: Hasher,
        policy_id: str | None = None,
        today: date | None = None,
    ) -> Scanner:
        """The `select` stage: the policies that apply to `context` (or the one policy `policy_id`)."""
        chosen = policy_set.get(policy_id) if policy_id else None
        return cls([chosen] if chosen else policy_set.select(context), context, detector, hasher, today)

    async def request(
        self, body: dict[str, Any], dialect: Dialect, *, raw_body: bytes | None = None, vendor_model: str | None = None
    ) -> Scan:
        """A request body, as the vendor would receive it. `raw_body` (the client's bytes) is
        forwarded as it is when nothing changes, so fields the proxy does not know arrive intact."""
        slots = canonicalise(dialect.request_slots(body))
        blocked = self._over_limit(slots)
        if blocked is not None:
            return Scan("request", self.policies, slots, decision=Decision(block=blocked))
        result = await self.scan(slots, "request", restores=dialect.restores)
        if result.decision.block is None:
            result.unscannable, result.decision.block = self._unscannable(body, dialect)
        if result.decision.block is None:
            renamed = vendor_model if vendor_model not in (None, dialect.model(body)) else None
            result.forwarded, result.forwarded_bytes = _write(body, raw_body, result, renamed)
        return result

    async def scan(self, slots: list[Slot], direction: Direction, *, restores: bool = True) -> Scan:
        """Detect, decide and transform `slots`: the one place these stages are composed.

        `restores` is False where nothing comes back to put a value into (embeddings): a
        pseudonym there is just a redaction."""
        try:
            findings = await self.detector.detect(
                slots, entities_of(self.policies, direction), detectors_of(self.policies)
            )
        except DetectionFailed:
            if direction == "response" or not self._may_skip_detection():
                raise
            return Scan(direction, self.policies, slots, decision=Decision(), unscanned=True)
        findings = trim(slots, findings)  # the value only: the sentence around it stays readable
        if direction == "request":  # a name found in one message is a name in every message
            findings = propagate(slots, findings)
        decision = _downgrade(
            decide(findings, slots, self.policies, self.context, direction=direction, today=self.today),
            direction,
            restores,
        )
        result = Scan(direction, self.policies, slots, findings, decision)
        if decision.block is None:
            texts, pseudonyms = transform(slots, decision.resolutions, self.hasher)
            result.texts, result.pseudonyms = texts, pseudonyms.originals
        return result

    def _enforcing(self) -> list[Policy]:
        return [p for p in self.policies if p.mode == "enforce"]  # a monitor policy changes nothing

    def _over_limit(self, slots: list[Slot]) -> BlockReason | None:
        """`settings.max_scan_chars`: the smallest limit in force, checked before anything is scanned."""
        limits = [(p.settings.max_scan_chars, p.id) for p in self._enforcing() if p.settings.max_scan_chars]
        size = sum(len(slot.text) for slot in slots)
        if not limits or size <= min(limits)[0]:
            return None
        limit, policy = min(limits)
        message = f"This request has {size} characters of text; at most {limit} are scanned, so it was not sent."
        return BlockReason(rule="settings.max_scan_chars", policy=policy, entity_type="", message=message)

    def _may_skip_detection(self) -> bool:
        """`settings.on_detector_error`: only when every enforced policy chose `allow`."""
        enforced = self._enforcing()
        return bool(enforced) and all(p.settings.on_detector_error != "block" for p in enforced)

    def _unscannable(self, body: dict[str, Any], dialect: Dialect) -> tuple[list[JSONPath], BlockReason | None]:
        """`settings.unscannable_parts`: the parts to strip (images, audio, files), or why they block."""
        parts = dialect.unscannable_parts(body)
        chosen = {p.settings.unscannable_parts: p.id for p in reversed(self._enforcing())}  # first policy wins
        if not parts or set(chosen) <= {"allow"}:
            return [], None
        if "block" in chosen:
            message = "This request contains images, audio or files, which cannot be scanned; the policy blocks them."
            return [], BlockReason("settings.unscannable_parts", chosen["block"], "", message)
        return parts, None


def canonicalise(slots: list[Slot]) -> list[Slot]:
    """The text detection reads. Today the identity: the place for undoing evasions (#16)."""
    return slots


def _downgrade(decision: Decision, direction: Direction, restores: bool) -> Decision:
    """Actions the surface cannot carry out, as the nearest one it can.

    Nothing comes back into an embedding and nothing in an answer is ever restored, so a
    pseudonym there is a redaction; an answer has already begun, so it cannot be refused:
    `block` there removes the value."""
    downgraded = {"pseudonymize"} if direction == "request" and not restores else set()
    if direction == "response":
        downgraded, decision.block = {"pseudonymize", "block"}, None
    decision.resolutions = [replace(r, action="redact") if r.action in downgraded else r for r in decision.resolutions]
    return decision


def _write(
    body: dict[str, Any], raw_body: bytes | None, scan: Scan, renamed: str | None
) -> tuple[dict[str, Any], bytes]:
    """The forwarded body and its bytes: the client's own bytes when nothing changes."""
    if not scan.texts and not scan.unscannable and not renamed:
        return body, raw_body if raw_body is not None else json.dumps(body, ensure_ascii=False).encode()
    forwarded = write_slots(body, [(scan.slots[i], text) for i, text in scan.texts.items()])
    if renamed:
        forwarded["model"] = renamed
    for path in sorted(scan.unscannable, reverse=True):  # from the back, so earlier indexes stay valid
        del get_at(forwarded, path[:-1])[path[-1]]
    return forwarded, json.dumps(forwarded, ensure_ascii=False).encode()
