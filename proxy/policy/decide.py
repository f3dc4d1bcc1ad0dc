"""The `decide` stage: from findings to one action per span, and whether the request may go.

Precedence is fixed and documented for compliance staff: when rules disagree about a value,
the stronger action wins — block > redact > hash > mask > pseudonymize > allow. Findings that
overlap are merged into one span covering both, under the stronger action, so no part of
either value goes out untouched.
"""

from __future__ import annotations

from proxy.exchange import Action, BlockReason, Decision, Finding, Resolution, Slot
from proxy.policy.schema import Policy, Rule

STRENGTH: dict[Action, int] = {"allow": 0, "pseudonymize": 1, "mask": 2, "hash": 3, "redact": 4, "block": 5}
ALLOW_LIST_RULE = "allow-list"
NO_POLICY = BlockReason(
    rule="no-policy",
    policy="",
    entity_type="",
    message="No active policy applies to this request, so it was not sent.",
)


def decide(findings: list[Finding], slots: list[Slot], policies: list[Policy]) -> Decision:
    """Resolve every finding under the policies in force; fail closed when none is."""
    if not policies:
        return Decision(block=NO_POLICY)
    candidates = [r for f in findings if (r := _resolve(f, slots[f.slot].text, policies)) is not None]
    kept = _merge_overlaps(_without_allow_listed(candidates))
    block = next((r for r in kept if r.action == "block"), None)
    return Decision(resolutions=kept, block=_block_reason(block, policies) if block else None)


def _resolve(finding: Finding, text: str, policies: list[Policy]) -> Resolution | None:
    """The strongest claim any policy makes on this finding, or None if none claims it.

    A policy's allow list only speaks for that policy: another policy's block still wins."""
    value = text[finding.start : finding.end].casefold()
    best: Resolution | None = None
    for policy in policies:
        for claim in _claims(policy, finding, value):
            if best is None or STRENGTH[claim.action] > STRENGTH[best.action]:
                best = claim
    return best


def _claims(policy: Policy, finding: Finding, value: str) -> list[Resolution]:
    if value in {allowed.casefold() for allowed in policy.allow}:
        return [Resolution(finding, "allow", ALLOW_LIST_RULE, policy.id)]
    return [
        Resolution(finding, rule.action, rule.id, policy.id, keep_last=rule.keep_last)
        for rule in policy.rules
        if finding.entity_type in rule.detect and finding.score >= _min_score(rule, policy)
    ]


def _min_score(rule: Rule, policy: Policy) -> float:
    return rule.min_score if rule.min_score is not None else policy.settings.min_score


def _without_allow_listed(candidates: list[Resolution]) -> list[Resolution]:
    """Drop findings inside an allow-listed value (the domain inside an allowed address),
    except blocks: a block is never relaxed by an allow list."""
    allowed = [r.finding for r in candidates if r.rule == ALLOW_LIST_RULE]
    return [
        r
        for r in candidates
        if r.rule == ALLOW_LIST_RULE or r.action == "block" or not any(_inside(r.finding, a) for a in allowed)
    ]


def _merge_overlaps(candidates: list[Resolution]) -> list[Resolution]:
    merged: list[Resolution] = []
    for resolution in sorted(candidates, key=lambda r: (r.finding.slot, r.finding.start, -r.finding.end)):
        if merged and _overlap(merged[-1].finding, resolution.finding):
            merged[-1] = _union(merged[-1], resolution)
        else:
            merged.append(resolution)
    return merged


def _union(a: Resolution, b: Resolution) -> Resolution:
    """One resolution over both spans: the stronger action, named after the wider value."""
    strong = max((a, b), key=lambda r: (STRENGTH[r.action], r.finding.score))
    wide = max((a, b), key=lambda r: r.finding.end - r.finding.start)
    finding = Finding(
        slot=a.finding.slot,
        start=min(a.finding.start, b.finding.start),
        end=max(a.finding.end, b.finding.end),
        entity_type=wide.finding.entity_type,
        score=max(a.finding.score, b.finding.score),
        recognizer=wide.finding.recognizer,
    )
    return Resolution(finding, strong.action, strong.rule, strong.policy, keep_last=strong.keep_last)


def _overlap(a: Finding, b: Finding) -> bool:
    return a.slot == b.slot and a.start < b.end and b.start < a.end


def _inside(a: Finding, b: Finding) -> bool:
    return a.slot == b.slot and b.start <= a.start and a.end <= b.end


def _block_reason(resolution: Resolution, policies: list[Policy]) -> BlockReason:
    rule = next(r for p in policies if p.id == resolution.policy for r in p.rules if r.id == resolution.rule)
    entity = resolution.finding.entity_type
    message = rule.message or f"This request contains {entity}, which policy rule '{rule.id}' does not allow."
    return BlockReason(rule=rule.id, policy=resolution.policy, entity_type=entity, message=message)
