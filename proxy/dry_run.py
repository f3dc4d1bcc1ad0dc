"""The request pipeline in-process, without a vendor: `policy explain` and `policy test`.

Runs the same extract → select → detect → decide → transform stages as a live request, so what
it reports is what the proxy would do (our `datasette --get`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from proxy.detection import DetectionEngine
from proxy.detection.propagate import propagate
from proxy.dialects import DIALECTS
from proxy.dialects.paths import write_slots
from proxy.exchange import Decision, Slot
from proxy.hashing import Hasher
from proxy.policy.bundle import PolicySet, detectors_of, entities_of
from proxy.policy.decide import decide
from proxy.policy.schema import Policy, PolicyTest, RequestContext
from proxy.transform import mask, transform


@dataclass
class DryRun:
    policies: list[Policy]
    slots: list[Slot]
    decision: Decision
    forwarded: dict[str, Any]

    def forwarded_text(self) -> str:
        """The text of the last message as the vendor would receive it."""
        message = self.forwarded["messages"][-1]
        content = message.get("content")
        return content if isinstance(content, str) else json.dumps(content)


async def dry_run(
    body: dict[str, Any],
    policy_set: PolicySet,
    detector: DetectionEngine,
    context: RequestContext,
    *,
    policy_id: str | None = None,
    hasher: Hasher | None = None,
    today: date | None = None,
) -> DryRun:
    dialect = DIALECTS[context.endpoint]
    slots = dialect.request_slots(body)
    chosen = policy_set.get(policy_id) if policy_id else None
    policies = [chosen] if chosen else policy_set.select(context)
    findings = propagate(slots, await detector.detect(slots, entities_of(policies), detectors_of(policies)))
    decision = decide(findings, slots, policies, context, today=today)
    texts, _ = transform(slots, decision.resolutions, hasher or Hasher(b"dry-run"))
    forwarded = write_slots(body, [(slots[i], text) for i, text in texts.items()]) if texts else body
    return DryRun(policies, slots, decision, forwarded)


def chat_body(text: str, context: RequestContext) -> dict[str, Any]:
    return {"model": context.model or "explain", "messages": [{"role": "user", "content": text}]}


def explain(run: DryRun) -> str:
    """A readable trace: policies, each finding (value masked), decision, forwarded text."""
    lines = [f"policies: {', '.join(p.label for p in run.policies) or '(none applies)'}"]
    lines.append(f"decision: {run.decision.kind}")
    lines.append("findings:")
    for mode, resolutions in (("", run.decision.resolutions), (" (monitor: would have)", run.decision.monitored)):
        for r in resolutions:
            value = run.slots[r.finding.slot].text[r.finding.start : r.finding.end]
            lines.append(
                f"  {r.finding.start:>5}-{r.finding.end:<5} {r.finding.entity_type:<18} {mask(value, 2):<24} "
                f"score={r.finding.score:.2f}  {r.action:<12} rule={r.policy}/{r.rule}{mode}"
            )
    for label, block in (("blocked", run.decision.block), ("would block (monitor)", run.decision.would_block)):
        if block:
            lines.append(f"{label}: {block.message} (rule {block.policy}/{block.rule})")
    if not run.decision.block:
        lines += ["forwarded:", "  " + run.forwarded_text()]
    return "\n".join(lines)


@dataclass
class CaseResult:
    policy: str
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


async def run_tests(policy_set: PolicySet, detector: DetectionEngine) -> list[CaseResult]:
    """Every `tests:` case of every policy, run against the whole set as it would apply."""
    results = []
    for policy in policy_set.policies:
        for case in policy.tests:
            results.append(await _run_case(policy, case, policy_set, detector))
    return results


async def _run_case(policy: Policy, case: PolicyTest, policy_set: PolicySet, detector: DetectionEngine) -> CaseResult:
    result = CaseResult(policy.id, case.name)
    body = case.body if case.body is not None else chat_body(case.input or "", case.as_)
    try:
        run = await dry_run(body, policy_set, detector, case.as_, today=case.today)
    except Exception as exc:  # a test body the dialect refuses is a failed case, not a crash
        result.failures.append(f"could not run: {exc}")
        return result
    expect = case.expect
    _compare(result, "decision", expect.decision, run.decision.kind)
    if expect.forwarded is not None and not run.decision.block:
        _compare(result, "forwarded", expect.forwarded, run.forwarded_text())
    if expect.entities is not None:
        found = sorted({r.finding.entity_type for r in [*run.decision.resolutions, *run.decision.monitored]})
        missing = sorted(set(expect.entities) - set(found))
        if missing:
            result.failures.append(f"entities: expected {expect.entities}, found {found}")
    if expect.rule is not None:
        block = run.decision.block
        rules = {block.rule} if block else {r.rule for r in run.decision.resolutions}
        if expect.rule not in rules:
            result.failures.append(f"rule: expected {expect.rule!r}, decided by {sorted(rules)}")
    return result


def _compare(result: CaseResult, what: str, expected: str | None, actual: str) -> None:
    if expected is not None and expected != actual:
        result.failures.append(f"{what}:\n      expected: {expected}\n      actual:   {actual}")
