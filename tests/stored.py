"""Governance test helpers: run a `privacy-proxy` command on a database, read back what a record
still holds, and write records of any age straight through the recorder."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import Engine, select

from proxy.cli import main
from proxy.exchange import Caller, Decision, Exchange, Finding, Resolution, Slot
from proxy.hashing import Hasher
from proxy.store.recorder import Recorder
from proxy.store.records import rows_for
from proxy.store.sealing import Sealer
from proxy.store.spool import Spool
from proxy.store.tables import findings, payloads, requests

#: the proxy always seals originals (#16): records written directly are sealed the same way
SEALER = Sealer({"suite": b"s" * 32}, "suite")


def invoke(args: list[str], database_url: str, input: str | None = None) -> Result:
    """A CLI command against `database_url`; fails the test on a non-zero exit."""
    env = {"DATABASE_URL": database_url, "PRIVACY_PROXY_CONFIG": ""}
    result = CliRunner().invoke(main, args, input=input, env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@dataclass
class Stored:
    """What the database holds for one request id."""

    request: dict[str, Any] | None
    payloads: set[str]
    value_hashes: list[str]


def stored(engine: Engine, request_id: str) -> Stored:
    with engine.connect() as connection:
        row = connection.execute(select(requests).where(requests.c.id == request_id)).mappings().first()
        kinds = connection.execute(select(payloads.c.kind).where(payloads.c.request_id == request_id)).scalars()
        hashes = connection.execute(
            select(findings.c.value_hash).where(findings.c.request_id == request_id).order_by(findings.c.id)
        ).scalars()
        return Stored(dict(row) if row else None, set(kinds), list(hashes))


def write_records(engine: Engine, sealer: Sealer, ages_days: dict[str, float]) -> None:
    """A complete record (four payloads, one PERSON finding) per id, created `age` days ago,
    written by the recorder's own insert."""
    text, hasher = "Hi Jane Doe", Hasher(b"k")
    rows = []
    for request_id, age in ages_days.items():
        exchange = Exchange(endpoint="openai-chat", id=request_id, caller=Caller("k", "t"), status="ok")
        exchange.created_at = time.time() - age * 86400
        exchange.raw_body = json.dumps({"messages": [{"role": "user", "content": text}]}).encode()
        exchange.slots = [Slot(("messages", 0, "content"), text)]
        person = Finding(0, 3, 11, "PERSON", 0.85)
        exchange.decision = Decision([Resolution(person, "pseudonymize", "contact-details", "default")])
        exchange.forwarded = {"messages": [{"role": "user", "content": "Hi <PERSON_1>"}]}
        exchange.response_received = {"text": "Hello <PERSON_1>"}
        exchange.response_returned = {"text": "Hello Jane Doe"}
        rows.append(rows_for(exchange, sealer, hasher, None))
    Recorder(engine, lambda e: rows_for(e, sealer, hasher, None), Spool(Path("unused"))).write(rows)
