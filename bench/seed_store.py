"""Fill a store with N realistic recorded exchanges, fast, for benchmarks.

Each exchange is built as the proxy builds one (an `Exchange` with a caller, bodies, a decision
and findings) and turned into rows by the recorder's own `rows_for`, so the rows, compression and
sealing are the real ones; only the HTTP and detection are skipped. Rows go in with batched
multi-row inserts. The mix: OpenAI chat, chat with a tool call, Responses and Anthropic Messages,
each with a name and an e-mail address pseudonymized.

    from bench.seed_store import fresh_postgres, seed
    with fresh_postgres("postgresql://postgres@127.0.0.1:5432") as url:
        seed(make_engine(url), 10_000)
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Engine, insert

from proxy.exchange import Caller, Decision, Exchange, Finding, Resolution, Slot
from proxy.hashing import Hasher
from proxy.store.database import upgrade
from proxy.store.records import RecordRows, rows_for
from proxy.store.sealing import Sealer
from proxy.store.tables import findings, payloads, requests

BATCH = 1000
NAMES = ["Peter Parker", "Mary Major", "Lena Fischer", "Tom Becker", "Ana Lima", "Kenji Sato", "Ola Nordmann"]
TOPICS = ["the invoice", "a refund", "the delivery date", "a password reset", "the new contract", "an upgrade"]
# a few words drawn per exchange, so the seeded conversations are not near copies of each other
WORDS = (
    "parcel courier label invoice voucher warranty receipt basket discount account password address "
    "delivery return exchange size colour battery screen charger cable keyboard printer blender kettle "
    "monday tuesday weekend morning urgent gift birthday subscription"
).split()
SYSTEM = "You are a helpful support assistant for an online shop. Answer briefly and politely."
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "send_mail",
            "description": "Sends an e-mail to a customer",
            "parameters": {"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}},
        },
    }
]


@contextmanager
def fresh_postgres(server: str, prefix: str = "pp_bench") -> Iterator[str]:
    """The URL of a new, migrated PostgreSQL database on `server`, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server + "/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(f"{server}/{name}")
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(server + "/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


#: the proxy always seals originals (#16), so seeded stores are sealed too; readers pass this
SEED_SEALER = Sealer({"seed": b"\x01" * 32}, "seed")


def seed(engine: Engine, n: int, *, sealer: Sealer | None = None, start: float | None = None) -> None:
    """Insert `n` exchanges, one second apart in time, ending now (or starting at `start`)."""
    sealer = sealer or SEED_SEALER
    hasher = Hasher(b"bench-seed-hash-key")
    first = start if start is not None else time.time() - n
    for offset in range(0, n, BATCH):
        records = [
            rows_for(_exchange(i, first + i), sealer, hasher, "bench") for i in range(offset, min(n, offset + BATCH))
        ]
        _insert(engine, records)
    if engine.dialect.name == "postgresql":  # table statistics, as autovacuum would soon gather them
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE requests; ANALYZE payloads; ANALYZE findings")


def _insert(engine: Engine, records: list[RecordRows]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(requests), [r.request for r in records])
        connection.execute(insert(payloads), [p for r in records for p in r.payloads])
        rows = [f for r in records for f in r.findings]
        if rows:
            connection.execute(insert(findings), rows)


def _exchange(i: int, created_at: float) -> Exchange:
    name, topic = NAMES[i % len(NAMES)], TOPICS[i % len(TOPICS)]
    email = name.lower().replace(" ", ".") + "@example.com"
    detail = " ".join(WORDS[(i * k + i // k) % len(WORDS)] for k in (3, 7, 11, 13, 17, 19))
    text = f"Hello, this is {name} ({email}). I have a question about {topic}, order number {10_000 + i}: {detail}."
    forwarded_text = text.replace(name, "<PERSON_1>").replace(email, "<EMAIL_ADDRESS_1>")
    kind = ("openai-chat", "openai-chat-tools", "openai-responses", "anthropic-messages")[i % 4]
    request, forwarded, answer = BUILDERS[kind](text, forwarded_text, topic)
    exchange = Exchange(
        endpoint=kind.removesuffix("-tools"),
        created_at=created_at,
        caller=Caller("bench-key", ("research", "support", "sales")[i % 3]),
        tags=["bench", f"topic-{i % len(TOPICS)}"],
        raw_body=json.dumps(request).encode(),
        body=request,
        model=request["model"],
        upstream="anthropic" if kind == "anthropic-messages" else "openai",
        policies=["default@2", "secrets-baseline@1"],
        forwarded=forwarded,
        response_received=answer,
        response_returned=json.loads(json.dumps(answer).replace("<PERSON_1>", name)),
        status="ok",
        http_status=200,
    )
    _decide(exchange, text, name, email)
    return exchange


def _decide(exchange: Exchange, text: str, name: str, email: str) -> None:
    exchange.slots = [Slot(path=("messages", 0, "content"), text=text)]
    values = ((name, "PERSON"), (email, "EMAIL_ADDRESS"))
    found = [Finding(0, text.index(v), text.index(v) + len(v), entity, 0.85) for v, entity in values]
    exchange.decision = Decision(resolutions=[Resolution(f, "pseudonymize", "contact", "default") for f in found])


Bodies = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]


def _chat(text: str, forwarded_text: str, topic: str) -> Bodies:
    def body(content: str) -> dict[str, Any]:
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": content}]
        return {"model": "gpt-4o-mini", "messages": messages}

    reply = f"Thank you, <PERSON_1>. I have looked into {topic}; you will get an update within two days."
    answer = {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini", "choices": [_choice(reply)]}
    return body(text), body(forwarded_text), answer


def _chat_tools(text: str, forwarded_text: str, topic: str) -> Bodies:
    request, forwarded, answer = _chat(text, forwarded_text, topic)
    arguments = json.dumps({"to": "<EMAIL_ADDRESS_1>", "body": f"Update on {topic}"})
    call = {"id": "call_1", "type": "function", "function": {"name": "send_mail", "arguments": arguments}}
    answer["choices"] = [{**_choice(None), "message": {"role": "assistant", "content": None, "tool_calls": [call]}}]
    return {**request, "tools": TOOLS}, {**forwarded, "tools": TOOLS}, answer


def _responses(text: str, forwarded_text: str, topic: str) -> Bodies:
    def body(content: str) -> dict[str, Any]:
        return {"model": "gpt-4o", "instructions": SYSTEM, "input": content}

    part = {"type": "output_text", "text": f"Dear <PERSON_1>, {topic} is on its way.", "annotations": []}
    output = [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": [part]}]
    return body(text), body(forwarded_text), {"id": "resp_1", "object": "response", "output": output}


def _anthropic(text: str, forwarded_text: str, topic: str) -> Bodies:
    def body(content: str) -> dict[str, Any]:
        return {"model": "claude-sonnet-4-5", "max_tokens": 512, "system": SYSTEM, "messages": [_user(content)]}

    content = [{"type": "text", "text": f"Hello <PERSON_1>, about {topic}: it is sorted."}]
    answer = {"id": "msg_1", "type": "message", "role": "assistant", "content": content, "stop_reason": "end_turn"}
    return body(text), body(forwarded_text), answer


def _user(content: str) -> dict[str, Any]:
    return {"role": "user", "content": content}


def _choice(content: str | None) -> dict[str, Any]:
    return {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}


BUILDERS = {
    "openai-chat": _chat,
    "openai-chat-tools": _chat_tools,
    "openai-responses": _responses,
    "anthropic-messages": _anthropic,
}
