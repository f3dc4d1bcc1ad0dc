"""Policy history: every policy version and policy set ever loaded, so that the digest a request
records (`requests.policy_digest`) always leads back to the full text that decided it.

`remember` runs at start-up and after every reload (idempotent: rows are keyed by digest, and
replicas loading the same files write nothing new). `changes` compares two sets for the reload
audit row: which policies came, went or changed, and which changed without a `version:` bump.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from proxy.policy.bundle import PolicySet
from proxy.policy.schema import Policy
from proxy.store.audit import record_audit
from proxy.store.tables import policy_sets, policy_versions

log = logging.getLogger(__name__)


def policy_text(policy: Policy) -> str:
    """The policy as it applied, as YAML: every field, inheritance folded in, in schema order."""
    return yaml.safe_dump(policy.model_dump(mode="json", by_alias=True), sort_keys=False, allow_unicode=True)


def remember(engine: Engine, policy_set: PolicySet) -> bool:
    """Store the set and each of its versions unless already stored; True when the set is new."""
    now = datetime.now(UTC)
    digests = policy_set.digests
    members = [{"id": p.id, "version": p.version, "digest": digests[p.id]} for p in policy_set.policies]
    with engine.connect() as connection:
        known = set(
            connection.execute(
                select(policy_versions.c.digest).where(policy_versions.c.digest.in_(list(digests.values())))
            ).scalars()
        )
        set_known = connection.execute(
            select(policy_sets.c.digest).where(policy_sets.c.digest == policy_set.digest)
        ).first()
    for policy in policy_set.policies:
        if digests[policy.id] not in known:
            text = policy_text(policy)
            row = {"digest": digests[policy.id], "policy_id": policy.id, "version": policy.version, "text": text}
            source = policy_set.sources.get(policy.id)
            _insert(engine, policy_versions, {**row, "source_digest": source, "first_loaded_at": now})
    if set_known is not None:
        return False
    return _insert(
        engine, policy_sets, {"digest": policy_set.digest, "policies": json.dumps(members), "first_loaded_at": now}
    )


def _insert(engine: Engine, table: Any, row: dict[str, Any]) -> bool:
    """Insert `row`; another replica that got there first is no error."""
    try:
        with engine.begin() as connection:
            connection.execute(insert(table).values(**row))
        return True
    except IntegrityError:
        return False


@dataclass(frozen=True)
class Shown:
    """What a digest names: one policy version, or a policy set with its versions."""

    kind: str  # "policy" | "set"
    digest: str
    first_loaded_at: datetime
    texts: dict[str, str]  # "id@version (digest)" -> YAML


def find(engine: Engine, digest: str) -> Shown | None:
    """The policy version or policy set stored under `digest` (a unique prefix of it will do)."""
    with engine.connect() as connection:
        version = (
            connection.execute(
                select(policy_versions).where(policy_versions.c.digest.startswith(digest, autoescape=True))
            )
            .mappings()
            .all()
        )
        if len(version) == 1:
            v = version[0]
            label = f"{v['policy_id']}@{v['version']} ({v['digest']})"
            return Shown("policy", v["digest"], v["first_loaded_at"], {label: v["text"]})
        found = (
            connection.execute(select(policy_sets).where(policy_sets.c.digest.startswith(digest, autoescape=True)))
            .mappings()
            .all()
        )
        if len(found) != 1:
            return None
        members = json.loads(found[0]["policies"])
        texts = dict(
            connection.execute(
                select(policy_versions.c.digest, policy_versions.c.text).where(
                    policy_versions.c.digest.in_([m["digest"] for m in members])
                )
            ).all()
        )
        shown = {f"{m['id']}@{m['version']} ({m['digest']})": texts.get(m["digest"], "") for m in members}
        return Shown("set", found[0]["digest"], found[0]["first_loaded_at"], shown)


def history(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The policy sets most recently first loaded, newest first, with their versions."""
    query = select(policy_sets).order_by(policy_sets.c.first_loaded_at.desc()).limit(limit)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        {
            "digest": r["digest"],
            "first_loaded_at": r["first_loaded_at"].isoformat(),
            "policies": json.loads(r["policies"]),
        }
        for r in rows
    ]


def changes(old: PolicySet, new: PolicySet) -> dict[str, Any]:
    """What a reload changed, for its audit row: policies added, removed and changed (with old and
    new version and digest), and those whose content changed while their `version:` did not."""
    before = {p.id: p for p in old.policies}
    after = {p.id: p for p in new.policies}
    changed: list[dict[str, Any]] = [
        {
            "id": i,
            "old_version": before[i].version,
            "new_version": after[i].version,
            "old_digest": old.digests[i],
            "new_digest": new.digests[i],
        }
        for i in sorted(set(before) & set(after))
        if old.digests[i] != new.digests[i]
    ]
    return {
        "old_digest": old.digest,
        "new_digest": new.digest,
        "added": sorted(f"{after[i].label}" for i in set(after) - set(before)),
        "removed": sorted(f"{before[i].label}" for i in set(before) - set(after)),
        "changed": changed,
        # its own file changed, its version did not (a child changes too when its parent does)
        "unbumped": [
            c["id"]
            for c in changed
            if c["old_version"] == c["new_version"] and old.sources.get(str(c["id"])) != new.sources.get(str(c["id"]))
        ],
    }


def record_load(engine: Engine, old: PolicySet | None, new: PolicySet, actor: str) -> None:
    """After start-up (`old` None) or a reload: remember the set, and for a reload write its audit
    row (old and new digest, what changed). A database that is down loses only this row: logged."""
    try:
        remember(engine, new)
        if old is None:
            return
        details = changes(old, new)
        if details["unbumped"]:
            log.warning("policies changed without a version bump: %s", ", ".join(details["unbumped"]))
        record_audit(engine, actor=actor, action="policy_reload", target=new.digest, **details)
    except SQLAlchemyError as exc:
        log.error("could not record the policy history (%s)", type(exc).__name__)


def record_failed_reload(engine: Engine, current: PolicySet, error: str, actor: str) -> None:
    """A reload that failed: the error (file:line messages, no request data) and the set kept."""
    try:
        record_audit(engine, actor=actor, action="policy_reload_failed", target=current.digest, error=error)
    except SQLAlchemyError as exc:
        log.error("could not record the failed policy reload (%s)", type(exc).__name__)


def unbumped(engine: Engine, policy_set: PolicySet) -> list[tuple[str, int, datetime]]:
    """(id, version, when it was loaded) of each policy whose `id@version` was loaded before from
    another file content: a change without a `version:` bump, so two texts would share one label."""
    labels = {(p.id, p.version): policy_set.sources.get(p.id) for p in policy_set.policies}
    v = policy_versions.c
    query = select(v.policy_id, v.version, v.source_digest, v.first_loaded_at).where(
        v.policy_id.in_([i for i, _ in labels]), v.source_digest.is_not(None)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    found = {(i, v): at for i, v, digest, at in rows if (i, v) in labels and labels[(i, v)] != digest}
    return [(i, v, at) for (i, v), at in sorted(found.items())]


def versions(engine: Engine, limit: int = 500) -> list[dict[str, Any]]:
    """Every stored policy version (id, version, digest, when first loaded), by id, newest first."""
    v = policy_versions.c
    query = (
        select(v.policy_id, v.version, v.digest, v.first_loaded_at)
        .order_by(v.policy_id, v.first_loaded_at.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]
