"""Console sign-outs kept in the database, so a copied session cookie stops working on every
replica the moment its owner signs out (the cookie itself stays validly signed until it expires)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select

from proxy.store.tables import console_sign_outs


def record_sign_out(engine: Engine, session: str, expires_at: datetime) -> None:
    """Refuse `session` from now on; forget sign-outs whose cookies have expired anyway."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(delete(console_sign_outs).where(console_sign_outs.c.expires_at < now))
        exists = select(console_sign_outs.c.session).where(console_sign_outs.c.session == session)
        if connection.execute(exists).first() is None:  # signing out twice is no error
            connection.execute(insert(console_sign_outs).values(session=session, expires_at=expires_at))


def signed_out(engine: Engine, session: str) -> bool:
    """Whether `session` was ended by signing out."""
    query = select(console_sign_outs.c.session).where(console_sign_outs.c.session == session)
    with engine.connect() as connection:
        return connection.execute(query).first() is not None
