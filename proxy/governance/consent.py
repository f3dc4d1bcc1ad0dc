"""Consent to training: a data subject can be marked as opted out, and exports leave them out.

The `subjects` table holds the subject ids as given in `X-Proxy-Subject` (an export must match
them exactly); the audit trail names them by keyed hash only, so it can outlive an erasure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from proxy.hashing import Hasher
from proxy.store.audit import record_audit
from proxy.store.tables import subjects


@dataclass(frozen=True)
class SubjectChoice:
    subject: str
    training_opt_out: bool
    updated_at: datetime


def set_training_opt_out(engine: Engine, subject: str, opted_out: bool, *, actor: str, hasher: Hasher) -> None:
    """Record the subject's choice (the newest wins) and audit it."""
    values = {"training_opt_out": opted_out, "updated_at": datetime.now(UTC)}
    with engine.begin() as connection:
        changed = connection.execute(update(subjects).where(subjects.c.subject == subject).values(**values)).rowcount
        if not changed:
            connection.execute(insert(subjects).values(subject=subject, **values))
    action = "subject_opt_out" if opted_out else "subject_opt_in"
    record_audit(engine, actor=actor, action=action, target=f"subject:{hasher.digest(subject)}")


def list_subjects(engine: Engine) -> list[SubjectChoice]:
    """Every subject with a recorded choice, by id."""
    with engine.connect() as connection:
        rows = connection.execute(select(subjects).order_by(subjects.c.subject)).all()
    return [SubjectChoice(row.subject, row.training_opt_out, row.updated_at) for row in rows]


def opted_out_subjects(engine: Engine) -> set[str]:
    """Subjects whose requests must not go into a training export."""
    with engine.connect() as connection:
        query = select(subjects.c.subject).where(subjects.c.training_opt_out.is_(True))
        return set(connection.execute(query).scalars())
