"""The `decide` stage: from findings to one action per span, and whether the request may go.

Precedence is fixed and documented for compliance staff: when rules disagree about a span, or
two findings overlap, the stronger action wins — block > redact > hash > mask > pseudonymize >
allow — then the higher score, then the longer span.
"""

from __future__ import annotations

from proxy.exchange import Action, BlockReason, Decision, Finding, Resolution, Slot
from proxy.policy.schema import Policy, Rule

STRENGTH: dict[Action, int] = {"allow": 0, "pseudonymize": 1, "mask": 2, "hash": 3, "redact": 4, "block": 5}
ALLOW_LIST_RULE = "allow-list"


def decide(findings: list[Finding], slots: list[Slot], policies: list[Policy]) -> Decision:
    candidates = [r for f in findings if (r := _resolve(f, slots[f.slot].text, policies)) is not None]
    kept = _without_overlaps(candidates)
    block = next((r for r in kept if r.action == "block"), None)
    return Decision(resolutions=kept, block=_block_reason(block, policies) if block else None)


def _resolve(finding: Finding, text: str, policies: list[Policy]) -> Resolution | None:
    """The strongest rule that claims this finding, or None if no rule does."""
    value = text[finding.start : finding.end].casefold()
    best: Resolution | None = None
    for policy in policies:
        if value in {allowed.casefold() for allowed in policy.allow}:
            return Resolution(finding, "allow", ALLOW_LIST_RULE, policy.id)
        for rule in policy.rules:
            if _claims(rule, policy, finding) and (best is None or STRENGTH[rule.action] > STRENGTH[best.action]):
                best = Resolution(finding, rule.action, rule.id, policy.id, keep_last=rule.keep_last)
    return best


def _claims(rule: Rule, policy: Policy, finding: Finding) -> bool:
    min_score = rule.min_score if rule.min_score is not None else policy.settings.min_score
    return finding.entity_type in rule.detect and finding.score >= min_score


def _without_overlaps(candidates: list[Resolution]) -> list[Resolution]:
    ranked = sorted(
        candidates,
        key=lambda r: (
            -STRENGTH[r.action],
            -r.finding.score,
            -(r.finding.end - r.finding.start),
            r.finding.start,
        ),
    )
    kept: list[Resolution] = []
    for candidate in ranked:
        if not any(_overlap(candidate.finding, other.finding) for other in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda r: (r.finding.slot, r.finding.start))


def _overlap(a: Finding, b: Finding) -> bool:
    return a.slot == b.slot and a.start < b.end and b.start < a.end


def _block_reason(resolution: Resolution, policies: list[Policy]) -> BlockReason:
    rule = next(r for p in policies if p.id == resolution.policy for r in p.rules if r.id == resolution.rule)
    entity = resolution.finding.entity_type
    message = rule.message or f"This request contains {entity}, which policy rule '{rule.id}' does not allow."
    return BlockReason(rule=rule.id, policy=resolution.policy, entity_type=entity, message=message)
