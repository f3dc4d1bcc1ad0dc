"""`inherits:` — a policy built on a baseline: the child's rules add to the parent's or replace
them by rule id, except that a `locked` rule may only be made stricter."""

from __future__ import annotations

import difflib
import fnmatch
from typing import Any

from proxy.detection.groups import expand
from proxy.policy.schema import STRENGTH, Policy, RequestRules, Rule


class InheritanceError(Exception):
    def __init__(self, policy_id: str, loc: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.policy_id, self.loc, self.message = policy_id, loc, message


def resolve(policies: list[Policy]) -> tuple[list[Policy], dict[str, list[str]]]:
    """Every policy with its ancestors' rules folded in, and each policy's ancestor ids."""
    by_id = {policy.id: policy for policy in policies}
    resolved: dict[str, Policy] = {}
    ancestors: dict[str, list[str]] = {}

    def visit(policy: Policy, chain: list[str]) -> Policy:
        if policy.id in resolved:
            return resolved[policy.id]
        if policy.id in chain:
            cycle = " -> ".join([*chain, policy.id])
            raise InheritanceError(policy.id, ("inherits",), f"inheritance goes round in a circle: {cycle}")
        if policy.inherits is None:
            result, lineage = policy, []
        else:
            parent = by_id.get(policy.inherits)
            if parent is None:
                close = difflib.get_close_matches(policy.inherits, list(by_id), n=1)
                hint = f" — did you mean {close[0]!r}?" if close else ""
                raise InheritanceError(policy.id, ("inherits",), f"no policy with id {policy.inherits!r}{hint}")
            result = merge(visit(parent, [*chain, policy.id]), policy)
            lineage = [parent.id, *ancestors[parent.id]]
        resolved[policy.id], ancestors[policy.id] = result, lineage
        return result

    return [visit(policy, []) for policy in policies], ancestors


def merge(parent: Policy, child: Policy) -> Policy:
    """The child as it applies: parent rules, detectors, exceptions and allow list, then its own."""
    return child.model_copy(
        update={
            "rules": _merge_rules(parent, child),
            "detectors": list({d.entity: d for d in [*parent.detectors, *child.detectors]}.values()),
            "exceptions": [*parent.exceptions, *child.exceptions],
            "allow": list(dict.fromkeys([*parent.allow, *child.allow])),
            "allow_phrases": list(dict.fromkeys([*parent.allow_phrases, *child.allow_phrases])),
            "request": _merge_request(parent.request, child.request, child.id),
            "settings": parent.settings.model_copy(
                update=child.settings.model_dump(include=child.settings.model_fields_set)
            ),
        }
    )


def _merge_settings(parent: Policy, child: Policy) -> Any:
    """The child's settings where it sets them, the parent's elsewhere."""
    own = (
        child.settings.model_dump(include=child.settings.model_fields_set)
        if "settings" in child.model_fields_set
        else {}
    )
    return parent.settings.model_copy(update=own)


def _merge_rules(parent: Policy, child: Policy) -> list[Rule]:
    # A locked rule keeps the score threshold it had in the parent, whatever the child's settings say.
    rules = {
        rule.id: rule.model_copy(update={"min_score": _threshold(rule, parent)}) if rule.locked else rule
        for rule in parent.rules
    }
    trials: list[Rule] = []
    for index, rule in enumerate(child.rules):
        inherited = rules.get(rule.id)
        if inherited is not None and inherited.locked:
            # the override stays locked, and without its own threshold keeps the locked one
            rule = rule.model_copy(update={"locked": True, "min_score": _threshold(rule, inherited)})
            reason = _relaxes(inherited, rule)
            if reason:
                message = f"rule {rule.id!r} is locked in policy {parent.id!r}: this override {reason}"
                raise InheritanceError(child.id, ("rules", index), message)
        if inherited is not None and _on_trial(inherited, rule, child):
            trials.append(rule)  # the inherited rule stays in force; the override is only recorded
        else:
            rules[rule.id] = rule
    return [*rules.values(), *trials]


def _on_trial(inherited: Rule, override: Rule, child: Policy) -> bool:
    """An override in `mode: monitor` of a rule the child would otherwise enforce: it runs beside
    that rule, under the same id, and never replaces it (monitoring must not weaken protection)."""
    return child.mode == "enforce" and override.mode == "monitor" and inherited.mode != "monitor"


def _threshold(rule: Rule, fallback: Policy | Rule) -> float:
    if rule.min_score is not None:
        return rule.min_score
    return fallback.settings.min_score if isinstance(fallback, Policy) else (fallback.min_score or 0.0)


def _relaxes(locked: Rule, override: Rule) -> str:
    """What makes `override` weaker than `locked` (empty when it is as strict or stricter)."""
    checks = [
        (STRENGTH[override.action] < STRENGTH[locked.action], f"weakens the action to {override.action!r}"),
        (not expand(override.detect) >= expand(locked.detect), "covers fewer kinds of data"),
        ((override.min_score or 0) > (locked.min_score or 0), "raises min_score"),
        (override.action == locked.action == "mask" and override.keep_last > locked.keep_last, "shows more characters"),
        (override.min_count > locked.min_count, "raises min_count"),
        (not set(override.directions) >= set(locked.directions), "covers fewer directions"),
        (override.mode == "monitor" and locked.mode != "monitor", "switches it to monitor mode"),
    ]
    return next((reason for failed, reason in checks if failed), "")


def _merge_request(parent: RequestRules, child: RequestRules, child_id: str) -> RequestRules:
    """Request rules only add up: a child may narrow an allowed list, never widen it."""
    for field in ("allowed_models", "allowed_upstreams"):
        inherited, own = getattr(parent, field), getattr(child, field)
        wider = [glob for glob in own if inherited and not any(fnmatch.fnmatchcase(glob, g) for g in inherited)]
        if wider:
            message = f"{wider[0]!r} is not within the parent policy's {field}; a child may only narrow the list"
            raise InheritanceError(child_id, ("request", field), message)
    limits = [limit for limit in (parent.max_prompt_chars, child.max_prompt_chars) if limit]
    return RequestRules(
        allowed_models=child.allowed_models or parent.allowed_models,
        denied_models=[*parent.denied_models, *child.denied_models],
        allowed_upstreams=child.allowed_upstreams or parent.allowed_upstreams,
        denied_upstreams=[*parent.denied_upstreams, *child.denied_upstreams],
        deny_phrases=[*parent.deny_phrases, *child.deny_phrases],
        max_prompt_chars=min(limits) if limits else None,
    )
