"""Dataset lineage: which exports were written and which records each holds.

An erasure or an opt-out must be followed into datasets already on disk: these rows answer
"which exports contain this request, or this subject's requests". Rows are recorded as the export
writes them, so even an export that stopped half way is on the list.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from proxy.store.tables import export_rows, exports, requests


def begin(engine: Engine, export_id: str, at: datetime, actor: str, format_: str, content: str, out: str) -> None:
    """The export's row, before a single record is written; an empty manifest marks it unfinished."""
    with engine.begin() as connection:
        connection.execute(
            insert(exports).values(
                id=export_id, created_at=at, actor=actor, format=format_, content=content, out=out, rows=0, manifest=""
            )
        )


def add_rows(engine: Engine, export_id: str, rows: list[tuple[str, str]]) -> None:
    """(request id, split) of records just written."""
    if rows:  # one cached statement, executemany: psycopg pipelines it, SQLAlchemy batches it into multi-row VALUES
        with engine.begin() as connection:
            connection.execute(
                insert(export_rows), [{"export_id": export_id, "request_id": r, "split": s} for r, s in rows]
            )


def finish(engine: Engine, export_id: str, rows: int, last_seq: int | None, manifest: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(exports).where(exports.c.id == export_id).values(rows=rows, last_seq=last_seq, manifest=manifest)
        )


def list_exports(engine: Engine) -> list[dict[str, Any]]:
    """Every export, newest first, without its manifest."""
    query = select(exports).order_by(exports.c.created_at.desc())
    with engine.connect() as connection:
        return [_summary(dict(row)) for row in connection.execute(query).mappings()]


def holding(engine: Engine, request_id: str | None = None, subject: str | None = None) -> list[dict[str, Any]]:
    """The exports that contain this request, or any request of this subject, with how many rows of it."""
    held = select(export_rows.c.export_id, export_rows.c.request_id)
    if request_id is not None:
        held = held.where(export_rows.c.request_id == request_id)
    if subject is not None:
        held = held.join(requests, requests.c.id == export_rows.c.request_id).where(requests.c.subject == subject)
    counts: dict[str, int] = {}
    with engine.connect() as connection:
        for export_id, _ in connection.execute(held):
            counts[export_id] = counts.get(export_id, 0) + 1
        found = connection.execute(select(exports).where(exports.c.id.in_(counts))).mappings()
        rows = [_summary(dict(row)) | {"held": counts[row["id"]]} for row in found]
    return sorted(rows, key=lambda row: row["created_at"], reverse=True)


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    manifest = json.loads(row.pop("manifest") or "{}")
    return row | {"complete": bool(manifest)}
