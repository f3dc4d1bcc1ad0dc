"""Retention: what is older than its data class may keep is deleted.

Deletes run a few hundred rows per transaction, so the recorder (and, on SQLite, every other
writer) waits at most one small batch for the lock; a purge of millions of rows never holds
the proxy up. Purging `metadata` deletes whole records (their payloads and findings cascade);
purging a payload class deletes only those payload rows.

Every replica runs the schedule; on PostgreSQL a purge first takes a session advisory lock, and a
replica that cannot get it skips its round, so one purge deletes at a time across all replicas
(SQLite serves one host, where its file lock already serialises writers).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import ColumnElement, Delete, Engine, Select, delete, func, select, text, tuple_

from proxy.config import RetentionConfig, format_duration
from proxy.store.audit import record_audit
from proxy.store.tables import payloads, requests

log = logging.getLogger(__name__)

BATCH_SIZE = 500
#: the payload kinds in each data class
PAYLOAD_CLASSES: dict[str, tuple[str, ...]] = {
    "original": ("original",),
    "forwarded": ("forwarded",),
    "response": ("response_received", "response_returned"),
}
SCHEDULED_ACTOR = "serve:scheduled"
#: the advisory lock every replica's purge takes on PostgreSQL ("ppurge" in ASCII)
PURGE_LOCK = 0x707075726765


class PurgeRunning(Exception):
    """Another replica or command holds the purge lock; this purge did nothing."""


def purge(
    engine: Engine,
    retention: RetentionConfig,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    """Rows past their retention, per class (`metadata` counts records, the others payload rows):
    counted on a dry run, else deleted. Records go first, so their payloads are not deleted twice."""
    now = now or datetime.now(UTC)
    counts: dict[str, int] = {}
    floor = None if retention.metadata is None else now - retention.metadata
    if floor is not None:
        counts["metadata"] = _count_or_delete(engine, _expired_records(floor, batch_size), dry_run, stop)
    for data_class, kinds in PAYLOAD_CLASSES.items():
        kept_for: timedelta | None = getattr(retention, data_class)
        if kept_for is not None:
            expired = _expired_payloads(kinds, now - kept_for, floor, batch_size)
            counts[data_class] = _count_or_delete(engine, expired, dry_run, stop)
    return counts


def run_purge(
    engine: Engine,
    retention: RetentionConfig,
    actor: str,
    *,
    dry_run: bool = False,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    """`purge`, audited: a person's purge always leaves a row, the schedule only when it deleted something
    (an hourly row saying "nothing" would bury the ones that matter)."""
    if dry_run:
        return purge(engine, retention, dry_run=True)
    with purge_lock(engine) as held:
        if not held:
            raise PurgeRunning("another purge is running (it holds the purge lock); nothing was deleted")
        counts = purge(engine, retention, stop=stop)
    if actor != SCHEDULED_ACTOR or any(counts.values()):
        cutoffs = {name: format_duration(getattr(retention, name)) for name in counts}
        record_audit(engine, actor=actor, action="purge", deleted=counts, retention=cutoffs)
    return counts


async def purge_on_schedule(engine: Engine, retention: RetentionConfig) -> None:
    """Started from `serve`'s lifespan: purge now and then every `purge_interval`, in a worker
    thread so requests keep flowing. It never raises: a failed purge is logged and retried on
    the next round, since an exception here would take the whole app down."""
    interval = retention.purge_interval.total_seconds()
    if interval <= 0 or not _has_retention(retention):
        return
    stop = threading.Event()
    try:
        while True:
            await anyio.to_thread.run_sync(_purge_quietly, engine, retention, stop, abandon_on_cancel=True)
            await anyio.sleep(interval)
    finally:
        stop.set()  # an abandoned purge finishes its current batch and returns


@contextmanager
def purge_lock(engine: Engine) -> Iterator[bool]:
    """Whether this purge may run: on PostgreSQL, a transaction-level advisory lock held by a
    transaction of its own for the whole purge (safe behind PgBouncer in transaction mode; the
    server frees it if that connection dies); elsewhere always."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection, connection.begin():
        yield bool(connection.execute(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": PURGE_LOCK}).scalar_one())


def _purge_quietly(engine: Engine, retention: RetentionConfig, stop: threading.Event) -> None:
    try:
        counts = run_purge(engine, retention, SCHEDULED_ACTOR, stop=stop)
    except PurgeRunning:
        log.info("scheduled purge skipped: another replica is purging")
        return
    except Exception as exc:  # the message can quote a row; its type is enough to act on
        log.error("scheduled purge failed (%s); retrying next round", type(exc).__name__)
        return
    if any(counts.values()):
        log.info("scheduled purge deleted %s", counts)


def _has_retention(retention: RetentionConfig) -> bool:
    return any(getattr(retention, name) is not None for name in ("metadata", *PAYLOAD_CLASSES))


def _expired_records(cutoff: datetime, batch_size: int) -> tuple[Select[Any], Delete]:
    """(count of, batched delete of) records created before `cutoff`."""
    old = requests.c.created_at < cutoff
    batch = select(requests.c.id).where(old).limit(batch_size)
    return select(func.count()).select_from(requests).where(old), delete(requests).where(requests.c.id.in_(batch))


def _expired_payloads(
    kinds: tuple[str, ...], cutoff: datetime, floor: datetime | None, batch_size: int
) -> tuple[Select[Any], Delete]:
    """(count of, batched delete of) payloads of these kinds older than `cutoff`, found by the
    (kind, created_at) index: a batch never walks past rows earlier batches or runs deleted.
    Those older than `floor` are the metadata purge's, so a dry run does not count them twice."""
    old: list[ColumnElement[bool]] = [payloads.c.kind.in_(kinds), payloads.c.created_at < cutoff]
    if floor is not None:
        old.append(payloads.c.created_at >= floor)
    batch = select(payloads.c.request_id, payloads.c.kind).where(*old).limit(batch_size)
    count = select(func.count()).select_from(payloads).where(*old)
    return count, delete(payloads).where(tuple_(payloads.c.request_id, payloads.c.kind).in_(batch))


def _count_or_delete(
    engine: Engine, statements: tuple[Select[Any], Delete], dry_run: bool, stop: threading.Event | None
) -> int:
    count, batch = statements
    if dry_run:
        with engine.connect() as connection:
            return int(connection.execute(count).scalar_one())
    return _delete_in_batches(engine, batch, stop)


def _delete_in_batches(engine: Engine, statement: Delete, stop: threading.Event | None) -> int:
    """Run a batch-limited delete, one transaction each, until nothing is left (or `stop` is set)."""
    total = 0
    while stop is None or not stop.is_set():
        with engine.begin() as connection:
            deleted = connection.execute(statement).rowcount
        total += deleted
        if deleted == 0:
            break
    return total
