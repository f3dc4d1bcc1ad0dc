"""The request pipeline in-process, without a vendor: `policy explain`, `policy test` and `eval`.

A dry run is the live request's own `Scanner.request` (`proxy.scan`), so what it reports is
what the proxy would do (our `datasette --get`): the same limits, `on_detector_error`,
unscannable parts and per-surface downgrades. Given the live hash key (a `--config`), a `hash`
action's code is the very one the proxy would forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from proxy.detection import DetectionEngine
from proxy.detection.gathered import Detects
from proxy.detection.groups import expand
from proxy.dialects import DIALECTS
from proxy.hashing import Hasher
from proxy.policy.bundle import PolicySet
from proxy.policy.schema import Policy, PolicyTest, RequestContext
from proxy.scan import Scan, Scanner
from proxy.transform import mask

#: the hash key of a dry run without a config: `hash` codes then differ from the live proxy's
DRY_RUN_KEY = b"dry-run"


async def dry_run(
    body: dict[str, Any],
    policy_set: PolicySet,
    detector: Detects,
    context: RequestContext,
    *,
    policy_id: str | None = None,
    hasher: Hasher | None = None,
    today: date | None = None,
    raw_body: bytes | None = None,
) -> Scan:
    """What the proxy would do with `body` (sent as `raw_body`) from `context`, on `today` (default
    the real day); a `BadRequest` when its dialect cannot read it."""
    scanner = Scanner.select(policy_set, context, detector, hasher or Hasher(DRY_RUN_KEY), policy_id, today)
    return await scanner.request(body, DIALECTS[context.endpoint], raw_body=raw_body)


def forwarded_text(run: Scan) -> str:
    """The last message (or input) as the vendor would read it: its texts, one per line."""
    if not run.slots:
        return ""
    container = run.slots[0].path[:1]  # `messages`, `input`, `prompt`: where the conversation is
    last = [slot.path[:2] for slot in run.slots if slot.path[:1] == container][-1]
    return "\n".join(run.texts.get(i, slot.text) for i, slot in enumerate(run.slots) if slot.path[:2] == last)


def chat_body(text: str, context: RequestContext) -> dict[str, Any]:
    return {"model": context.model or "explain", "messages": [{"role": "user", "content": text}]}


def explain(run: Scan, near_misses: bool = False) -> str:
    """A readable trace: policies, each finding (value masked), decision, forwarded text; with
    `near_misses`, also what was found but scored below every threshold, so a missed value shows."""
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
    if near_misses:
        lines += ["near misses (found, but below the rule's min_score, so nothing was done):"]
        lines += [f"  {line}" for line in _near_misses(run)] or ["  (none)"]
    if run.unscanned:
        lines.append("detection failed: forwarded unscanned, as every policy's on_detector_error allows")
    if not run.decision.block:
        lines += ["forwarded:", "  " + forwarded_text(run)]
    return "\n".join(lines)


def _near_misses(run: Scan) -> list[str]:
    """Findings no rule acted on, each with its score and the lowest threshold a rule for its type has."""
    acted = [r.finding for r in [*run.decision.resolutions, *run.decision.monitored]]
    lines = []
    for f in run.findings:
        if any(a.slot == f.slot and a.start <= f.start and f.end <= a.end for a in acted):
            continue
        thresholds = [
            rule.min_score if rule.min_score is not None else policy.settings.min_score
            for policy in run.policies
            for rule in policy.rules
            if f.entity_type in expand(rule.detect)
        ]
        if not thresholds:
            continue
        value = run.slots[f.slot].text[f.start : f.end]
        lines.append(
            f"{f.start:>5}-{f.end:<5} {f.entity_type:<18} {mask(value, 2):<24} "
            f"score={f.score:.2f}  needs {min(thresholds):.2f}  ({f.recognizer})"
        )
    return lines


@dataclass
class CaseResult:
    policy: str
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


async def run_tests(policy_set: PolicySet, detector: DetectionEngine, hasher: Hasher | None = None) -> list[CaseResult]:
    """Every `tests:` case of every policy, run against the whole set as it would apply; a
    monitored policy's cases as it will apply once enforced (monitored, it changes nothing)."""
    results = []
    for policy in policy_set.policies:
        if policy.status == "retired":  # no longer applies: its cases describe nothing (`check` warns)
            continue
        applied = policy_set.enforcing(policy.id) if policy.mode == "monitor" else policy_set
        for case in policy.tests:
            results.append(await _run_case(policy, case, applied, detector, hasher))
    return results


async def _run_case(
    policy: Policy, case: PolicyTest, policy_set: PolicySet, detector: DetectionEngine, hasher: Hasher | None
) -> CaseResult:
    result = CaseResult(policy.id, case.name)
    body = case.body if case.body is not None else chat_body(case.input or "", case.as_)
    try:
        run = await dry_run(body, policy_set, detector, case.as_, hasher=hasher, today=case.today)
    except Exception as exc:  # a test body the dialect refuses is a failed case, not a crash
        result.failures.append(f"could not run: {exc}")
        return result
    expect = case.expect
    _compare(result, "decision", expect.decision, run.decision.kind)
    if expect.forwarded is not None and not run.decision.block:
        _compare(result, "forwarded", expect.forwarded, forwarded_text(run))
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
