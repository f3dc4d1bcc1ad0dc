"""Erasure end to end: SDK requests through the proxy carry X-Proxy-Subject and personal data;
`privacy-proxy erase` then removes exactly what names the subject or the value, on SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid

from anthropic import Anthropic
from openai import OpenAI

from proxy.store.audit import audit_rows
from proxy.store.database import upgrade

from .conftest import StartProxy
from .mock_vendor import MockVendor
from .stored import invoke, stored

ALL_PAYLOADS = {"original", "forwarded", "response_received", "response_returned"}


def _chat(client: OpenAI, text: str, subject: str, conversation: str | None = None) -> str:
    headers = {"X-Proxy-Subject": subject, **({"X-Proxy-Conversation": conversation} if conversation else {})}
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": text}], extra_headers=headers
    )
    return raw.headers["x-proxy-request-id"]


def _message(client: Anthropic, text: str, subject: str) -> str:
    raw = client.messages.with_raw_response.create(
        model="claude-3-5-sonnet-latest",
        max_tokens=64,
        messages=[{"role": "user", "content": text}],
        extra_headers={"X-Proxy-Subject": subject},
    )
    return raw.headers["x-proxy-request-id"]


def test_erase_by_subject_deletes_their_text_and_findings_and_keeps_an_unlinked_row(
    start_proxy: StartProxy, vendor: MockVendor, database_url: str
) -> None:
    upgrade(database_url)
    subject, other = f"user-{uuid.uuid4().hex[:8]}", f"user-{uuid.uuid4().hex[:8]}"
    with start_proxy(database_url=database_url) as running:
        client = running.client()
        mine = [
            _chat(client, "Email Peter Parker at peter@dailybugle.com", subject, conversation="thread-7"),
            _message(running.anthropic(), "Please ask Jane Doe, her address is jane@dailybugle.com", subject),
        ]
        theirs = _chat(client, "Email Peter Parker at peter@dailybugle.com", other)
        running.services.recorder.flush()
        engine, hasher = running.services.recorder.engine, running.services.hasher
        before = {rid: stored(engine, rid) for rid in [*mine, theirs]}
        assert all(before[rid].payloads == ALL_PAYLOADS and before[rid].value_hashes for rid in before)
        found = sum(len(before[rid].value_hashes) for rid in mine)

        dry = invoke(["erase", "--subject", subject], database_url)
        assert f"dry run: 2 records name this subject; 8 payloads and {found} findings would be deleted" in dry.output
        assert {rid: stored(engine, rid) for rid in before} == before  # a dry run changes nothing

        done = invoke(["erase", "--subject", subject, "--yes"], database_url)
        assert f"deleted 8 payloads and {found} findings" in done.output
        for rid in mine:
            left = stored(engine, rid)
            assert (left.payloads, left.value_hashes) == (set(), [])
            assert left.request is not None and left.request["erased_at"] is not None
            assert (left.request["subject"], left.request["conversation"], left.request["tags"]) == (None, None, None)
            assert (left.request["status"], left.request["key_name"]) == ("ok", "suite")
            assert left.request["total_tokens"] == before[rid].request["total_tokens"]  # type: ignore[index]
        assert stored(engine, theirs) == before[theirs]

        audit = [
            row for row in audit_rows(engine, action="erase") if row["target"] == f"subject:{hasher.digest(subject)}"
        ]
        assert [row["details"] for row in audit] == [{"requests": 2, "payloads": 8, "findings": found}]
        assert audit[0]["actor"].startswith("cli:") and subject not in repr(audit)
        again = invoke(["erase", "--subject", subject, "--yes"], database_url)
        assert "erased: 0 records" in again.output


def test_erase_by_value_finds_it_however_it_is_written_and_keeps_other_values(
    start_proxy: StartProxy, vendor: MockVendor, database_url: str
) -> None:
    upgrade(database_url)
    value, other_value = f"alice.{uuid.uuid4().hex[:8]}@dailybugle.com", f"bob.{uuid.uuid4().hex[:8]}@dailybugle.com"
    with start_proxy(database_url=database_url) as running:
        client = running.client()
        named = [
            _chat(client, f"Write to {value} about Peter Parker", "user-1"),
            _message(running.anthropic(), f"Forward this to {value.upper()} today", "user-2"),
        ]
        unrelated = _chat(client, f"Write to {other_value} about Peter Parker", "user-1")
        running.services.recorder.flush()
        engine, hasher = running.services.recorder.engine, running.services.hasher
        before = {rid: stored(engine, rid) for rid in [*named, unrelated]}
        digest = hasher.digest(value)
        assert all(digest in before[rid].value_hashes for rid in named) and digest not in before[unrelated].value_hashes

        typed = f"  {value.title()} "  # as someone might paste it: other capitals, stray spaces
        dry = invoke(["erase", "--value", typed], database_url)
        assert "dry run: 2 records name this value; 8 payloads and 2 findings would be deleted" in dry.output
        invoke(["erase", "--value", "-", "--yes"], database_url, input=typed)  # read from stdin

        for rid in named:
            left = stored(engine, rid)
            assert left.payloads == set()
            assert left.value_hashes == [h for h in before[rid].value_hashes if h != digest]
            assert left.request is not None and left.request["erased_at"] is not None
            assert left.request["subject"] == before[rid].request["subject"]  # type: ignore[index]
        assert stored(engine, named[0]).value_hashes, "the other values' findings stay"
        assert stored(engine, unrelated) == before[unrelated]

        audit = [row for row in audit_rows(engine, action="erase") if row["target"] == f"value:{digest}"]
        assert [row["details"] for row in audit] == [{"requests": 2, "payloads": 8, "findings": 2}]
        assert "alice" not in repr(audit_rows(engine, limit=1000)).lower()
