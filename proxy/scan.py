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

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from proxy.detection.gathered import Detects
from proxy.detection.propagate import propagate
from proxy.detection.reading import Reading, read
from proxy.detection.seams import adjacent
from proxy.detection.siblings import siblings
from proxy.detection.trim import trim
from proxy.dialects import Dialect
from proxy.dialects.paths import get_at, write_slots
from proxy.errors import BadRequest, DetectionFailed, PolicyBlocked
from proxy.exchange import BlockReason, Decision, Finding, JSONPath, Resolution, Slot
from proxy.hashing import Hasher
from proxy.policy.bundle import PolicySet, detectors_of, entities_of
from proxy.policy.decide import decide, merge_overlaps
from proxy.policy.schema import Direction, Policy, RequestContext
from proxy.transform import transform

UNSCANNED = "detection failed; forwarded unscanned, as the policies' on_detector_error allows"


@dataclass
class Scan:
    """Everything one scan concluded, for the pipeline to act on and a dry run to report."""

    direction: Direction
    policies: list[Policy]
    slots: list[Slot]  # as extracted; detection read their canonical text, findings are mapped back
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
    detector: Detects
    hasher: Hasher
    today: date | None = None

    @classmethod
    def select(
        cls,
        policy_set: PolicySet,
        context: RequestContext,
        detector: Detects,
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
        slots = dialect.request_slots(body)
        blocked = self._over_limit(slots)
        if blocked is not None:
            return Scan("request", self.policies, slots, decision=Decision(block=blocked))
        model = Slot(MODEL_PATH, dialect.model(body))  # scanned like text: routing globs let anything through
        result = await self.scan([*slots, model], "request", restores=dialect.restores, pairs=adjacent(body, slots))
        _refuse_model(result)
        if result.decision.block is None:
            result.unscannable, result.decision.block = self._unscannable(body, dialect)
        if result.decision.block is None:
            renamed = vendor_model if vendor_model not in (None, dialect.model(body)) else None
            result.forwarded, result.forwarded_bytes = _write(body, raw_body, result, renamed)
        return result

    async def scan(
        self, slots: list[Slot], direction: Direction, *, restores: bool = True, pairs: Sequence[tuple[int, int]] = ()
    ) -> Scan:
        """Canonicalise, detect, decide and transform `slots`: the one place these stages are composed.

        Detection and decision read each slot's canonical text (and the seams of the adjacent
        `pairs`); every finding is mapped back to the span of the original it came from, and
        the original is what is transformed. `restores` is False where nothing comes back to put
        a value into (embeddings): a pseudonym there is just a redaction."""
        if sum(len(slot.text) for slot in slots) <= OFF_LOOP_CHARS:
            reading = read(slots, pairs)
        else:  # about 1 ms per 3,000 characters, more for disguised text: other requests keep being served
            reading = await asyncio.to_thread(read, slots, pairs)
        try:
            findings = await self.detector.detect(
                reading.texts, entities_of(self.policies, direction), detectors_of(self.policies)
            )
        except DetectionFailed:
            if direction == "response" or not self._may_skip_detection():
                raise
            return Scan(direction, self.policies, slots, decision=Decision(), unscanned=True)
        findings = trim(reading.slots, reading.slot_findings(findings))  # the value only: the sentence stays readable
        if direction == "request":  # a name beside a found one, then a name found in one message in every message
            findings = propagate(reading.slots, siblings(reading.slots, findings))
        findings = _without_names_in_model(findings, slots)  # after propagation: "Claude" is no name in `claude-*`
        decision = _downgrade(
            decide(findings, reading.slots, self.policies, self.context, direction=direction, today=self.today),
            direction,
            restores,
        )
        original = [reading.original(f) for f in findings]
        result = Scan(direction, self.policies, slots, original, _in_original(decision, reading))
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


OFF_LOOP_CHARS = 20_000  # more text than this is canonicalised on a worker thread
MODEL_PATH: JSONPath = ("model",)
# Not read in a model name: what only a language model's guess finds ("claude" is a given name)
# and what a version date looks like ("claude-haiku-4-5-20251001" parses as a phone number).
# Cards, SSNs and other ids, e-mail addresses and secrets are what a model name must not carry.
MODEL_NAME_NOISE = frozenset(
    {"PERSON", "LOCATION", "NRP", "DATE_TIME", "ORGANIZATION", "PHONE_NUMBER", "DATE_OF_BIRTH"}
)


def _without_names_in_model(findings: list[Finding], slots: list[Slot]) -> list[Finding]:
    models = {i for i, slot in enumerate(slots) if slot.path == MODEL_PATH}
    return [f for f in findings if not (f.slot in models and f.entity_type in MODEL_NAME_NOISE)]


def _refuse_model(result: Scan) -> None:
    """A model name that carries a value the policies act on is refused, never rewritten: the
    vendor could not route a rewritten name, and the client should learn what went wrong."""
    for resolution in result.decision.resolutions:
        if result.slots[resolution.finding.slot].path == MODEL_PATH and resolution.action != "allow":
            entity = resolution.finding.entity_type
            raise BadRequest(
                f"The model name contains what looks like {entity}; model names cannot carry personal data.",
                code="invalid_model",
            )


def _in_original(decision: Decision, reading: Reading) -> Decision:
    """The decision's spans in the original texts. Two values decoded from one encoded segment
    both cover the whole segment, so overlaps are merged again."""

    def mapped(resolutions: list[Resolution]) -> list[Resolution]:
        return merge_overlaps([replace(r, finding=reading.original(r.finding)) for r in resolutions])

    decision.resolutions, decision.monitored = mapped(decision.resolutions), mapped(decision.monitored)
    return decision


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
