"""The audit trail: one append-only row for every export, erasure, purge and read of original
text. Rows name what was done and how much, never a raw value."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from proxy.store.tables import audit_events


def record_audit(engine: Engine, *, actor: str, action: str, target: str | None = None, **details: Any) -> int:
    """Write one audit row and return its id; `details` must be JSON-serialisable and value-free."""
    with engine.begin() as connection:
        result = connection.execute(
            insert(audit_events).values(
                at=datetime.now(UTC),
                actor=actor,
                action=action,
                target=target,
                details=json.dumps(details, sort_keys=True, default=str) if details else None,
            )
        )
    key = result.inserted_primary_key
    return int(key[0]) if key else 0


def audit_rows(engine: Engine, *, action: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest audit rows first, details decoded."""
    query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
    if action:
        query = query.where(audit_events.c.action == action)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [{**row, "details": json.loads(row["details"]) if row["details"] else {}} for row in rows]
