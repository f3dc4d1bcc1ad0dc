"""Proxy keys kept in the database, so operators can issue and revoke them without editing
`proxy.yaml` or restarting. Only the key's SHA-256 is stored; the key is shown once, at creation."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

from sqlalchemy import Engine, RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError

from proxy.clock import as_utc
from proxy.config import ApiKeyConfig, KeyLimits, hash_api_key
from proxy.store.tables import api_keys


class KeyExists(ValueError):
    """A key with this name is already stored (revoked ones too: names are never reused)."""


def new_key() -> str:
    return "pp-" + secrets.token_urlsafe(32)


def create_key(engine: Engine, name: str, team: str, limits: KeyLimits, expires: datetime | None = None) -> str:
    """Store a new key's hash and return the key itself, which is not kept anywhere."""
    key = new_key()
    row = {
        "name": name,
        "team": team,
        "sha256": hash_api_key(key),
        "created_at": datetime.now(UTC),
        "expires_at": expires,
        "models": json.dumps(limits.models) if limits.models is not None else None,
        "requests_per_minute": limits.requests_per_minute,
        "tokens_per_day": limits.tokens_per_day,
        "may_assert_subject": limits.may_assert_subject,
        "may_skip_capture": limits.may_skip_capture,
    }
    try:
        with engine.begin() as connection:
            connection.execute(insert(api_keys).values(**row))
    except IntegrityError:
        raise KeyExists(f"a key named {name!r} already exists") from None
    return key


def revoke_key(engine: Engine, name: str) -> bool:
    """Mark the key revoked (kept for the record); False when no live key has that name."""
    with engine.begin() as connection:
        result = connection.execute(
            update(api_keys)
            .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    return result.rowcount > 0


def stored_keys(engine: Engine, *, include_revoked: bool = False) -> list[tuple[ApiKeyConfig, datetime | None]]:
    """Each stored key as the same model config keys use, with its revocation time."""
    query = select(api_keys).order_by(api_keys.c.created_at)
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [(_as_config(row), _utc(row["revoked_at"])) for row in rows]


def stored_key(engine: Engine, sha256: str) -> ApiKeyConfig | None:
    """The live stored key with this hash, if any."""
    query = select(api_keys).where(api_keys.c.sha256 == sha256, api_keys.c.revoked_at.is_(None))
    with engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    return _as_config(row) if row is not None else None


def _as_config(row: RowMapping) -> ApiKeyConfig:
    return ApiKeyConfig(
        name=row["name"],
        team=row["team"],
        sha256=row["sha256"],
        expires=_utc(row["expires_at"]),
        models=json.loads(row["models"]) if row["models"] else None,
        requests_per_minute=row["requests_per_minute"],
        tokens_per_day=row["tokens_per_day"],
        may_assert_subject=bool(row["may_assert_subject"]),
        may_skip_capture=bool(row["may_skip_capture"]),
    )


def _utc(moment: datetime | None) -> datetime | None:
    return as_utc(moment) if moment is not None else None
