"""Secrets a single-node deployment keeps on disk beside its SQLite database (`hash.key`,
`data.key`), created on first use with mode 0600. A shared (server) database has no such place:
every replica must be given the same secrets, so there the operator configures them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def data_dir(database_url: str) -> Path:
    """Where local secrets live: beside the SQLite file, else ./data."""
    if database_url.startswith("sqlite:///") and not database_url.endswith(":memory:"):
        return Path(database_url.removeprefix("sqlite:///")).parent
    return Path("./data")


def local_key_file(database_url: str, name: str) -> Path | None:
    """The key file `name` beside a SQLite database; None for a shared database."""
    return data_dir(database_url) / name if database_url.startswith("sqlite") else None


def read_or_create(path: Path) -> str:
    """The key in `path` (hex), created first if missing; empty when the file is empty."""
    if not path.exists():
        _create_key_file(path)
    return path.read_text().strip()


def _create_key_file(path: Path) -> None:
    """Write a new random key where no key exists yet, atomically: several workers may start at
    once, and none may read a half-written file or replace another's key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)  # fails if another process got there first; then use theirs
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
