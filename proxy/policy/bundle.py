"""The set of loaded policies and the `select` stage: which of them apply to a request."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from proxy.policy.schema import Detector, Policy


@dataclass(frozen=True)
class PolicySet:
    """Every active policy, loaded and validated together; immutable so a reload swaps it whole."""

    policies: list[Policy]

    def select(self) -> list[Policy]:
        """Policies that apply to a request. Every active policy applies until scoping lands
        (`applies_to` in the policy language)."""
        return [policy for policy in self.policies if policy.status == "active"]

    @property
    def digest(self) -> str:
        """A content hash of the whole set, so a record names exactly what was in force."""
        canonical = json.dumps([p.model_dump(mode="json") for p in self.policies], sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def entities_of(policies: list[Policy]) -> set[str]:
    return set().union(*(policy.entities() for policy in policies)) if policies else set()


def detectors_of(policies: list[Policy]) -> list[Detector]:
    return [detector for policy in policies for detector in policy.detectors]
