"""`inherits:` — a policy built on a baseline: the child's rules add to the parent's or replace
them by rule id, except that a `locked` rule may only be made stricter."""

from __future__ import annotations

import difflib
from typing import Any

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
            "request": _merge_request(parent.request, child.request),
            "settings": child.settings if "settings" in child.model_fields_set else parent.settings,
        }
    )


def _merge_rules(parent: Policy, child: Policy) -> list[Rule]:
    rules = {rule.id: rule for rule in parent.rules}
    for index, rule in enumerate(child.rules):
        inherited = rules.get(rule.id)
        if inherited is not None and inherited.locked and _relaxes(inherited, rule):
            raise InheritanceError(
                child.id,
                ("rules", index),
                f"rule {rule.id!r} is locked in policy {parent.id!r}: an override may only make it stricter",
            )
        rules[rule.id] = rule.model_copy(update={"locked": True}) if inherited and inherited.locked else rule
    return list(rules.values())


def _relaxes(locked: Rule, override: Rule) -> bool:
    return (
        STRENGTH[override.action] < STRENGTH[locked.action]
        or not set(override.detect) >= set(locked.detect)
        or (override.min_score or 0) > (locked.min_score or 0)
        or override.min_count > locked.min_count
        or not set(override.directions) >= set(locked.directions)
        or (override.mode == "monitor" and locked.mode != "monitor")
    )


def _merge_request(parent: RequestRules, child: RequestRules) -> RequestRules:
    return RequestRules(
        allowed_models=child.allowed_models or parent.allowed_models,
        denied_models=[*parent.denied_models, *child.denied_models],
        allowed_upstreams=child.allowed_upstreams or parent.allowed_upstreams,
        denied_upstreams=[*parent.denied_upstreams, *child.denied_upstreams],
        deny_phrases=[*parent.deny_phrases, *child.deny_phrases],
        max_prompt_chars=child.max_prompt_chars or parent.max_prompt_chars,
    )
