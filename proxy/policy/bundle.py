"""The loaded policy set and the `select` stage: which policies apply to a request."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from proxy.detection.groups import expand
from proxy.policy.schema import Detector, Direction, Policy, RequestContext


@dataclass(frozen=True)
class PolicySet:
    """Every policy, validated and with inheritance resolved; immutable, so a reload swaps it whole.

    `ancestors[id]` lists the policies `id` inherits from: when an enforced child applies, its
    ancestors step aside for that request, since the child already holds their rules (with its
    overrides). A monitored child never replaces anything: it runs on top of the enforced set,
    which alone decides what is forwarded (a monitor trial must never weaken protection)."""

    policies: list[Policy]
    ancestors: dict[str, list[str]] = field(default_factory=dict)
    #: each policy's own file content hash (before inheritance): what a `version:` bump must follow
    sources: dict[str, str] = field(default_factory=dict)

    def select(self, context: RequestContext) -> list[Policy]:
        """Active policies whose `applies_to` matches, minus ancestors of other selected enforced ones."""
        chosen = [p for p in self.policies if p.status == "active" and p.applies_to.matches(context)]
        replaced = {ancestor for p in chosen if p.mode == "enforce" for ancestor in self.ancestors.get(p.id, [])}
        return [p for p in chosen if p.id not in replaced]

    def enforcing(self, policy_id: str) -> PolicySet:
        """This set once the monitored policy `policy_id` is switched to `mode: enforce`: what its
        own `tests:` describe, and what a trial would lead to."""
        changed = [p.model_copy(update={"mode": "enforce"}) if p.id == policy_id else p for p in self.policies]
        return PolicySet(changed, self.ancestors, self.sources)

    def get(self, policy_id: str) -> Policy | None:
        return next((p for p in self.policies if p.id == policy_id), None)

    @cached_property
    def digests(self) -> dict[str, str]:
        """Each policy's own content hash, by id: what `policy show` and the history look up."""
        return {p.id: policy_digest(p) for p in self.policies}

    @cached_property
    def digest(self) -> str:
        """A content hash of the whole set, so a record names exactly what was in force (computed
        once per set: every request reads it)."""
        canonical = json.dumps([p.model_dump(mode="json") for p in self.policies], sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def entities_of(policies: Iterable[Policy], direction: Direction = "request") -> set[str]:
    """Entity types any rule acts on in this direction (monitor rules too); detection runs for these only."""
    return {
        entity
        for policy in policies
        for rule in policy.rules
        if direction in rule.directions
        for entity in expand(rule.detect)
    }


def detectors_of(policies: Iterable[Policy]) -> list[Detector]:
    return [detector for policy in policies for detector in policy.detectors]


def policy_digest(policy: Policy) -> str:
    """A content hash of one policy as it applies (inheritance folded in)."""
    canonical = json.dumps(policy.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
