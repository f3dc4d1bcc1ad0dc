"""Engines and migrations: SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from proxy.config import ConfigError


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the driver we ship), not SQLAlchemy's psycopg2 default."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


POOL_SIZE, POOL_OVERFLOW = 2, 3


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine; SQLite gets WAL and foreign keys."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        _create_private(url)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # One writer thread plus the occasional admin read, key lookup or readiness ping: a small
    # pool per process keeps replicas x workers within PostgreSQL's max_connections.
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def _create_private(url: str) -> None:
    """Create a SQLite file readable by its owner only (0600) before SQLite does, which would
    use the umask (often world-readable); SQLite gives its -wal and -shm files the same mode."""
    name = make_url(url).database
    if not url.startswith("sqlite") or not name or name == ":memory:":
        return
    database = Path(name)
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets readers (admin, export) work while the recorder writes; foreign keys make
    # ON DELETE CASCADE real for erasure; secure_delete overwrites deleted rows with zeros, so an
    # erased or purged payload does not linger in the file's free pages.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def truncate_wal(engine: Engine) -> None:
    """SQLite: copy the write-ahead log into the database and empty it, so the bytes of rows just
    deleted do not stay on disk in the log (a no-op on other databases)."""
    if engine.url.get_backend_name() != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(files("proxy.migrations")))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def open_database(url: str) -> Engine:
    """The configured database, at the schema this code needs; the one rule `serve` and every
    command follow. SQLite (a proxy's own local file) is migrated here; a shared server database
    must already be current, since migrating it under running replicas is the operator's call."""
    engine = make_engine(url)
    if engine.url.get_backend_name() == "sqlite":
        upgrade(url)
    elif not is_current(engine):
        engine.dispose()
        raise ConfigError("the database schema is not up to date: run `privacy-proxy db upgrade` first")
    return engine


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    _create_private(normalise_url(url))
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Undo migrations down to `revision`."""
    command.downgrade(alembic_config(url), revision)


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
