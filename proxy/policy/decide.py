"""The `decide` stage: from findings to one action per span, and whether the request may go.

Precedence is fixed and documented for compliance staff: when rules disagree about a value,
the stronger action wins — block > redact > hash > mask > pseudonymize > allow. Findings that
overlap are merged into one span covering both, under the stronger action, so no part of
either value goes out untouched. Monitor-mode rules are resolved the same way, apart, and only
recorded: they never change what is forwarded, and with no enforced policy in force the request
is refused, monitored or not.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from functools import lru_cache

from proxy.detection.groups import expand
from proxy.exchange import BlockReason, Decision, Finding, Resolution, Slot
from proxy.policy.schema import STRENGTH, Direction, Policy, PolicyException, RequestContext, RequestRules, Rule

ALLOW_LIST_RULE = "allow-list"
NO_POLICY = BlockReason(
    rule="no-policy",
    policy="",
    entity_type="",
    message="No active policy applies to this request, so it was not sent.",
)


def decide(
    findings: list[Finding],
    slots: list[Slot],
    policies: list[Policy],
    context: RequestContext,
    *,
    direction: Direction = "request",
    today: date | None = None,
) -> Decision:
    """Resolve every finding under the policies in force; fail closed when none is enforced."""
    if not any(policy.mode == "enforce" for policy in policies):
        return Decision(block=NO_POLICY)
    day = today or date.today()
    claims = [c for f in findings for c in _claims(f, slots[f.slot].text, policies, context, direction, day)]
    claims = _enough_findings(claims, policies)
    enforced = _resolve([c for c in claims if c.mode == "enforce"])
    monitored = _resolve([c for c in claims if c.mode == "monitor"])
    request_block, request_would_block = (None, None)
    if direction == "request":
        request_block, request_would_block = _request_level(policies, slots, context)
    return Decision(
        resolutions=enforced,
        block=request_block or _first_block(enforced, policies),
        monitored=monitored,
        would_block=request_would_block or _first_block(monitored, policies),
    )


def _claims(
    finding: Finding, text: str, policies: list[Policy], context: RequestContext, direction: Direction, today: date
) -> Iterator[Resolution]:
    """What each policy says about this finding (several rules may claim it)."""
    value = text[finding.start : finding.end]
    for policy in policies:
        # An allow list or an exception relaxes its own policy's rules, never a locked one.
        allowed = value.casefold() in {entry.casefold() for entry in policy.allow} or _in_allowed_phrase(
            finding, text, tuple(policy.allow_phrases)
        )
        if allowed:
            yield Resolution(finding, "allow", ALLOW_LIST_RULE, policy.id, mode=policy.mode)
        exception = _exception_for(policy, finding.entity_type, value, context, today)
        for rule in policy.rules:
            if direction not in rule.directions or finding.entity_type not in _entities(tuple(rule.detect)):
                continue
            if finding.score < (rule.min_score if rule.min_score is not None else policy.settings.min_score):
                continue
            mode = policy.rule_mode(rule)
            if rule.locked or (not allowed and exception is None):
                yield Resolution(finding, rule.action, rule.id, policy.id, keep_last=rule.keep_last, mode=mode)
            elif exception is not None and not allowed:
                yield Resolution(finding, "allow", f"exception:{exception.id}", policy.id, mode=mode)


def _in_allowed_phrase(finding: Finding, text: str, phrases: tuple[str, ...]) -> bool:
    """Whether the finding lies inside one of the policy's `allow_phrases` where it stands."""
    return (
        any(m.start() <= finding.start and finding.end <= m.end() for m in _phrase_pattern(phrases).finditer(text))
        if phrases
        else False
    )


@lru_cache(maxsize=256)
def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    words = "|".join(r"\s+".join(map(re.escape, phrase.split())) for phrase in phrases)
    return re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=1024)
def _entities(detect: tuple[str, ...]) -> frozenset[str]:
    return frozenset(expand(detect))


def _exception_for(
    policy: Policy, entity: str, value: str, context: RequestContext, today: date
) -> PolicyException | None:
    for exception in policy.exceptions:
        if not exception.active(today) or not exception.applies_to.matches(context):
            continue
        if exception.entities and entity not in _entities(tuple(exception.entities)):
            continue
        if _value_allowed(exception, value):
            return exception
    return None


def _value_allowed(exception: PolicyException, value: str) -> bool:
    if not exception.allow_values and not exception.allow_patterns:
        return True  # the exception covers every value of its entities
    if value.casefold() in {v.casefold() for v in exception.allow_values}:
        return True
    return any(re.fullmatch(pattern, value) for pattern in exception.allow_patterns)


def _enough_findings(claims: list[Resolution], policies: list[Policy]) -> list[Resolution]:
    """Drop the claims of rules that found fewer values than their `min_count` (a rule on trial
    shares its id with the enforced rule it would replace, so the mode tells them apart)."""
    counts = Counter((c.policy, c.rule, c.mode) for c in claims)
    minimum: dict[tuple[str, str, str], int] = {
        (p.id, r.id, p.rule_mode(r)): r.min_count for p in policies for r in p.rules
    }
    return [c for c in claims if counts[(c.policy, c.rule, c.mode)] >= minimum.get((c.policy, c.rule, c.mode), 1)]


def _resolve(claims: list[Resolution]) -> list[Resolution]:
    """The strongest claim per finding, allow-listed values respected, overlaps merged."""
    strongest: dict[Finding, Resolution] = {}
    for claim in claims:
        current = strongest.get(claim.finding)
        if current is None or STRENGTH[claim.action] > STRENGTH[current.action]:
            strongest[claim.finding] = claim
    return merge_overlaps(_without_allow_listed(list(strongest.values())))


def _without_allow_listed(candidates: list[Resolution]) -> list[Resolution]:
    """Drop findings inside an allow-listed value (the domain inside an allowed address),
    except blocks: a block is never relaxed by an allow list."""
    allowed = [r.finding for r in candidates if r.rule == ALLOW_LIST_RULE]
    return [
        r
        for r in candidates
        if r.rule == ALLOW_LIST_RULE or r.action == "block" or not any(_inside(r.finding, a) for a in allowed)
    ]


def merge_overlaps(candidates: list[Resolution]) -> list[Resolution]:
    """Overlapping resolutions of one slot as one, under the stronger action."""
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
    return Resolution(finding, strong.action, strong.rule, strong.policy, keep_last=strong.keep_last, mode=strong.mode)


def _overlap(a: Finding, b: Finding) -> bool:
    return a.slot == b.slot and a.start < b.end and b.start < a.end


def _inside(a: Finding, b: Finding) -> bool:
    return a.slot == b.slot and b.start <= a.start and a.end <= b.end


def _first_block(resolutions: list[Resolution], policies: list[Policy]) -> BlockReason | None:
    resolution = next((r for r in resolutions if r.action == "block"), None)
    if resolution is None:
        return None
    rule = _rule(policies, resolution)
    entity = resolution.finding.entity_type
    message = (rule.message if rule else None) or (
        f"This request contains {entity}, which policy rule '{resolution.rule}' does not allow."
    )
    return BlockReason(rule=resolution.rule, policy=resolution.policy, entity_type=entity, message=message)


def _rule(policies: list[Policy], resolution: Resolution) -> Rule | None:
    return next(
        (
            r
            for p in policies
            if p.id == resolution.policy
            for r in p.rules
            if r.id == resolution.rule and p.rule_mode(r) == resolution.mode
        ),
        None,
    )


def _request_level(
    policies: list[Policy], slots: list[Slot], context: RequestContext
) -> tuple[BlockReason | None, BlockReason | None]:
    """(enforced block, monitor-mode block) from the policies' request-level rules."""
    enforced: BlockReason | None = None
    monitored: BlockReason | None = None
    for policy in policies:
        violation = _violation(policy.request, slots, context)
        if violation is None:
            continue
        name, message = violation
        reason = BlockReason(rule=f"request.{name}", policy=policy.id, entity_type="", message=message)
        if policy.mode == "monitor":
            monitored = monitored or reason
        else:
            enforced = enforced or reason
    return enforced, monitored


def _violation(rules: RequestRules, slots: list[Slot], context: RequestContext) -> tuple[str, str] | None:
    def listed(value: str, globs: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(value, glob) for glob in globs)

    if rules.allowed_models and not listed(context.model, rules.allowed_models):
        return "allowed_models", "The requested model is not on this policy's list of allowed models."
    if listed(context.model, rules.denied_models):
        return "denied_models", "The requested model may not be used under this policy."
    if rules.allowed_upstreams and not listed(context.upstream, rules.allowed_upstreams):
        return "allowed_upstreams", f"Upstream '{context.upstream}' is not on this policy's list of allowed vendors."
    if listed(context.upstream, rules.denied_upstreams):
        return "denied_upstreams", f"Upstream '{context.upstream}' may not be used under this policy."
    texts = [slot.text.casefold() for slot in slots]
    phrase = next((p for p in rules.deny_phrases if any(p.casefold() in t for t in texts)), None)
    if phrase is not None:
        return "deny_phrases", f"This request contains the phrase '{phrase}', which may not be sent to AI vendors."
    size = sum(len(slot.text) for slot in slots)
    if rules.max_prompt_chars is not None and size > rules.max_prompt_chars:
        return (
            "max_prompt_chars",
            f"This request has {size} characters of text; the policy allows {rules.max_prompt_chars}.",
        )
    return None
