"""Data key rotation: re-seal the sensitive payloads under the current (first) data key.

Put the new key first in `storage.data_keys`, keep the old ones listed, roll the proxy out, then
run `privacy-proxy keys rotate-data-key`. Every row stays readable throughout, since the sealer
opens each blob with the key its row names. Rows are re-sealed a batch per transaction, and only
if unchanged since they were read, so the command can be stopped and run again (it carries on
where it stopped, and a finished rotation finds nothing to do). Sensitive payloads written before
any key was configured are sealed too. Once it reports nothing left, drop the old keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, or_, select, update

from proxy.store.audit import record_audit
from proxy.store.sealing import SENSITIVE_KINDS, Sealer
from proxy.store.tables import payloads

BATCH_SIZE = 500
SEALED = "zlib+aesgcm"


@dataclass(frozen=True)
class Rotation:
    key_id: str  # the key everything is sealed under now
    resealed: int = 0  # moved from an older key
    sealed: int = 0  # were stored unencrypted
    #: rows sealed under keys no longer configured (they cannot be opened), by key id
    unreadable: dict[str, int] = field(default_factory=dict)


def rotate_data_key(engine: Engine, sealer: Sealer, key_ids: list[str], *, batch_size: int = BATCH_SIZE) -> Rotation:
    """Re-seal every sensitive payload not yet under `key_ids[0]`, the key `sealer` seals with."""
    if not key_ids:  # without a key nothing gets sealed, and the loop below would never end
        raise ValueError("storage.data_keys is empty: there is no key to rotate to")
    active, older = key_ids[0], key_ids[1:]
    stale = and_(
        payloads.c.kind.in_(SENSITIVE_KINDS),
        or_(payloads.c.encoding != SEALED, and_(payloads.c.encoding == SEALED, payloads.c.key_id.in_(older))),
    )
    resealed = sealed = 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(select(payloads).where(stale).limit(batch_size)).all()
            if not rows:
                break
            _reseal(connection, sealer, rows)
        moved = sum(row.encoding == SEALED for row in rows)
        resealed, sealed = resealed + moved, sealed + len(rows) - moved
    return Rotation(active, resealed, sealed, _unreadable(engine, key_ids))


def run_rotation(engine: Engine, sealer: Sealer, key_ids: list[str], actor: str) -> Rotation:
    """`rotate_data_key`, audited."""
    result = rotate_data_key(engine, sealer, key_ids)
    details = {"resealed": result.resealed, "sealed": result.sealed, "unreadable": result.unreadable}
    record_audit(engine, actor=actor, action="rotate_data_key", target=result.key_id, **details)
    return result


def _reseal(connection: Connection, sealer: Sealer, rows: Sequence[Any]) -> None:
    """Open each blob with its own key and seal it with the active one. The update matches only a
    row still as it was read, so two rotations at once cannot overwrite each other's work."""
    statement = (
        update(payloads)
        .where(
            payloads.c.request_id == bindparam("b_request_id"),
            payloads.c.kind == bindparam("b_kind"),
            payloads.c.encoding == bindparam("b_old_encoding"),
            func.coalesce(payloads.c.key_id, "") == bindparam("b_old_key_id"),
        )
        .values(data=bindparam("b_data"), encoding=bindparam("b_encoding"), key_id=bindparam("b_key_id"))
    )
    changes = []
    for row in rows:
        plain = sealer.open(row.data, row.encoding, row.key_id, row.request_id, row.kind)
        blob, encoding, key_id = sealer.seal(plain, row.request_id, row.kind)
        changes.append(
            {
                "b_request_id": row.request_id,
                "b_kind": row.kind,
                "b_old_encoding": row.encoding,
                "b_old_key_id": row.key_id or "",
                "b_data": blob,
                "b_encoding": encoding,
                "b_key_id": key_id,
            }
        )
    connection.execute(statement, changes)


def _unreadable(engine: Engine, key_ids: list[str]) -> dict[str, int]:
    query = (
        select(payloads.c.key_id, func.count())
        .where(payloads.c.encoding == SEALED, payloads.c.key_id.not_in(key_ids))
        .group_by(payloads.c.key_id)
    )
    with engine.connect() as connection:
        return {str(key_id): int(count) for key_id, count in connection.execute(query)}
