"""Export: exchanges recorded through the proxy with the official SDKs come out as training data
that validates against each format's schema, with surrogates, filters, skips, manifest and audit."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, insert

from bench.seed_store import SEED_SEALER, fresh_postgres, seed
from proxy.cli import main
from proxy.export.conversation import Conversation, Message, Unreadable
from proxy.export.readers import read_conversation
from proxy.export.residual import DEFAULT_ENTITIES, ResidualCheck
from proxy.export.run import ExportOptions, run
from proxy.export.source import Filters
from proxy.export.surrogate import Surrogates
from proxy.store.audit import audit_rows
from proxy.store.database import make_engine
from proxy.store.sealing import Sealer
from proxy.store.tables import subjects

from .conftest import RunningProxy, StartProxy
from .export_schemas import SCHEMAS, OpenAILine
from .mock_vendor import MockVendor

NAME, EMAIL = "Peter Parker", "peter@dailybugle.com"
CLAUDE = "claude-3-5-sonnet-latest"
MAIL_TOOL = {"name": "send_mail", "description": "Sends mail", "parameters": {"type": "object"}}
DATA_KEY = base64.b64encode(b"k" * 32).decode()


@dataclass
class Recorded:
    engine: Engine
    sealer: Sealer
    tool_turn: list[Any]  # the chat tool-call turn, as the client saw it


def _tag(case: str) -> dict[str, str]:
    return {"X-Proxy-Tags": f"case-{case},sdk"}


def _record_openai(running: RunningProxy, vendor: MockVendor) -> list[Any]:
    client = running.client()
    hello = [{"role": "user", "content": f"Please ask {NAME} at {EMAIL} about the invoice."}]
    for case in ("chat", "chat-again"):  # the same conversation twice: exact duplicates
        client.chat.completions.create(model="gpt-4o", messages=hello, extra_headers=_tag(case))  # type: ignore[arg-type]
    stream = client.chat.completions.create(model="gpt-4o", messages=hello, stream=True, extra_headers=_tag("stream"))  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == hello[0]["content"]
    vendor.script.tool_calls = [{"name": "send_mail", "arguments": json.dumps({"to": "<EMAIL_ADDRESS_1>"})}]
    tools: list[Any] = [{"type": "function", "function": MAIL_TOOL}]
    reply = client.chat.completions.create(model="gpt-4o", messages=hello, tools=tools, extra_headers=_tag("tools"))  # type: ignore[arg-type]
    vendor.script.tool_calls = None
    call = reply.choices[0].message.tool_calls[0]  # type: ignore[index]
    turn2 = [
        *hello,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]},
        {"role": "tool", "tool_call_id": call.id, "content": "sent"},
    ]
    list(
        client.chat.completions.create(
            model="gpt-4o", messages=turn2, tools=tools, stream=True, extra_headers=_tag("tools-2")
        )
    )  # type: ignore[arg-type]
    client.chat.completions.create(
        model="gpt-4o", messages=hello, extra_headers={**_tag("opted-out"), "X-Proxy-Subject": "subject-out"}
    )  # type: ignore[arg-type]
    client.embeddings.create(model="text-embedding-3-small", input=f"{NAME}", extra_headers=_tag("embedding"))
    return turn2


def _record_responses(running: RunningProxy, vendor: MockVendor) -> None:
    client = running.client()
    client.responses.create(
        model="gpt-4o", instructions="Be brief.", input=f"Write to {NAME}.", extra_headers=_tag("responses")
    )
    items: list[Any] = [
        {"role": "user", "content": "Who is the customer?"},
        {"type": "function_call", "call_id": "c1", "name": "crm", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": f"{NAME}, {EMAIL}"},
    ]
    vendor.script.tool_calls = [{"name": "send_mail", "arguments": json.dumps({"to": "<EMAIL_ADDRESS_1>"})}]
    tools: list[Any] = [{"type": "function", **MAIL_TOOL}]
    events = client.responses.create(
        model="gpt-4o", input=items, tools=tools, stream=True, extra_headers=_tag("responses-tools")
    )
    assert any(e.type == "response.completed" for e in events)
    vendor.script.tool_calls = None


def _record_anthropic(running: RunningProxy, vendor: MockVendor) -> None:
    client = running.anthropic()
    hello: list[Any] = [{"role": "user", "content": f"Thank {NAME} for the order."}]
    client.messages.create(model=CLAUDE, max_tokens=50, system="Be kind.", messages=hello, extra_headers=_tag("claude"))
    with client.messages.stream(
        model=CLAUDE, max_tokens=50, messages=hello, extra_headers=_tag("claude-stream")
    ) as events:
        assert events.get_final_message().content[0].text == hello[0]["content"]  # type: ignore[union-attr]
    vendor.script.tool_calls = [{"name": "send_mail", "arguments": json.dumps({"to": "<EMAIL_ADDRESS_1>"})}]
    history: list[Any] = [
        {"role": "user", "content": "Who is the customer?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "crm", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": f"{NAME}, {EMAIL}"}]},
    ]
    tools: list[Any] = [{"name": "send_mail", "description": "Sends mail", "input_schema": {"type": "object"}}]
    client.messages.create(
        model=CLAUDE, max_tokens=50, messages=history, tools=tools, extra_headers=_tag("claude-tools")
    )
    streamed = _tag("claude-tools-stream")
    with client.messages.stream(
        model=CLAUDE, max_tokens=50, messages=history, tools=tools, extra_headers=streamed
    ) as events:
        assert events.get_final_message().content[0].input == {"to": EMAIL}  # type: ignore[union-attr]
    vendor.script.tool_calls = None


@pytest.fixture(scope="module")
def recorded(start_proxy: StartProxy, session_vendor: MockVendor) -> Iterator[Recorded]:
    os.environ["EXPORT_TEST_DATA_KEY"] = DATA_KEY
    session_vendor.reset()
    storage = {"data_keys": [{"id": "k1", "env": "EXPORT_TEST_DATA_KEY"}]}
    with start_proxy(storage=storage) as running:
        turn2 = _record_openai(running, session_vendor)
        _record_responses(running, session_vendor)
        _record_anthropic(running, session_vendor)
        with pytest.raises(openai.BadRequestError):  # a blocked request is recorded but never exported
            running.client().chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "card 4111 1111 1111 1111"}]
            )
        running.services.recorder.flush()
        engine = running.services.recorder.engine
        with engine.begin() as connection:
            connection.execute(
                insert(subjects).values(subject="subject-out", training_opt_out=True, updated_at=datetime.now(UTC))
            )
        yield Recorded(engine, running.services.sealer, turn2)
    session_vendor.reset()


EXPORTED = 11  # of the 13 sdk exchanges with a conversation: all but the opted-out one and the embedding


def _export(recorded: Recorded, out: Path, **options: Any) -> tuple[Any, list[dict[str, Any]]]:
    options.setdefault("filters", Filters(tags=("sdk",)))
    options.setdefault("dedupe", "off")  # every row, unless a test is about de-duplication
    manifest = run(recorded.engine, recorded.sealer, ExportOptions(out=out, **{"format": "openai-jsonl", **options}))
    lines = [json.loads(line) for path in sorted(out.glob("*.jsonl")) for line in path.read_text().splitlines()]
    return manifest, lines


@pytest.mark.parametrize("format_", ["openai-jsonl", "anthropic-jsonl", "sharegpt"])
def test_every_line_of_every_jsonl_format_validates_against_its_schema(
    recorded: Recorded, tmp_path: Path, format_: str
) -> None:
    manifest, lines = _export(recorded, tmp_path, format=format_)
    assert len(lines) == manifest.counts.exported == EXPORTED
    for line in lines:
        SCHEMAS[format_].model_validate(line)
    assert manifest.counts.skipped == {"no_conversation": 1, "opted_out": 1}
    text = json.dumps(lines)
    assert NAME not in text and EMAIL not in text and "<PERSON_1>" in text  # forwarded: what the vendor saw


def test_streamed_answers_and_tool_calls_survive_the_round_trip(recorded: Recorded, tmp_path: Path) -> None:
    _, lines = _export(recorded, tmp_path, filters=Filters(tags=("case-stream",)))
    (stream,) = lines
    question, answer = stream["messages"]
    assert answer == {"role": "assistant", "content": question["content"]}  # the echo, assembled whole
    assert "<PERSON_1>" in answer["content"] and answer["content"].endswith("at <EMAIL_ADDRESS_1> about the invoice.")
    for case in ("case-tools", "case-responses-tools", "case-claude-tools", "case-claude-tools-stream"):
        (line,) = _export(recorded, tmp_path / case, filters=Filters(tags=(case,)))[1]
        (call,) = line["messages"][-1]["tool_calls"]
        assert call["function"]["name"] == "send_mail" and json.loads(call["function"]["arguments"]) == {
            "to": "<EMAIL_ADDRESS_1>"
        }
        assert line["tools"][0]["function"]["name"] == "send_mail"
    (turn2,) = _export(recorded, tmp_path / "t2", filters=Filters(tags=("case-tools-2",)))[1]
    assert [m["role"] for m in turn2["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert turn2["messages"][-1]["content"] == "sent"


def test_parquet_has_the_hugging_face_layout_and_loads_with_pyarrow(recorded: Recorded, tmp_path: Path) -> None:
    manifest = run(
        recorded.engine,
        recorded.sealer,
        ExportOptions(
            format="parquet",
            out=tmp_path,
            filters=Filters(tags=("sdk",)),
            rows_per_shard=5,
            split={"validation": 0.3},
            dedupe="off",
        ),
    )
    shards = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "data").iterdir())
    assert shards == sorted(f for f in manifest.files if f.startswith("data/"))
    train = [s for s in shards if s.startswith("data/train-")]
    assert train[0] == f"data/train-00000-of-{len(train):05d}.parquet"
    table = pq.read_table(tmp_path / "data")
    assert table.num_rows == EXPORTED == sum(manifest.counts.splits.values())
    assert {"id", "model", "created_at", "messages", "tools", "metadata", "num_tokens"} == set(table.column_names)
    for row in table.to_pylist():
        messages = [_without_empty(m) for m in row["messages"]]
        OpenAILine.model_validate({"messages": messages})
        assert "sdk" in row["metadata"]["tags"] and row["metadata"]["policies"]
    card = (tmp_path / "README.md").read_text()
    assert f"{EXPORTED} exported" in card and "default@" in card and "placeholders" in card


def _without_empty(message: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in message.items() if v not in (None, []) or k == "content"}
    return out


def test_surrogates_replace_every_placeholder_with_one_fake_per_token(recorded: Recorded, tmp_path: Path) -> None:
    _, lines = _export(recorded, tmp_path, content="surrogate")
    text = json.dumps(lines)
    assert "<PERSON_" not in text and "<EMAIL_ADDRESS_" not in text
    assert NAME not in text and EMAIL not in text  # fakes, never the originals
    chat = lines[0]["messages"]
    assert chat[0]["content"] == chat[1]["content"]  # the echo: the same fakes in the question and the answer
    tools = next(line for line in lines if line["messages"][-1].get("tool_calls") and len(line["messages"]) == 2)
    fake_email = json.loads(tools["messages"][-1]["tool_calls"][0]["function"]["arguments"])["to"]
    assert "@" in fake_email and fake_email in tools["messages"][0]["content"]


def test_original_content_needs_a_purpose_decrypts_and_is_audited(recorded: Recorded, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="purpose"):
        ExportOptions(format="openai-jsonl", out=tmp_path, content="original")
    with pytest.raises(ValueError, match="split names"):
        ExportOptions(format="openai-jsonl", out=tmp_path, split={"../../etc/x": 0.1})
    manifest, lines = _export(
        recorded, tmp_path, content="original", purpose="eval of support bot", filters=Filters(tags=("case-chat",))
    )
    assert (
        lines[0]["messages"][0]["content"] == f"Please ask {NAME} at {EMAIL} about the invoice."
    )  # sealed with AES-GCM
    (read, export) = audit_rows(recorded.engine, limit=2)[::-1]
    assert read["action"] == "read_original" and read["details"]["purpose"] == "eval of support bot"
    assert export["action"] == "export" and export["details"]["counts"]["exported"] == manifest.counts.exported == 1


def test_every_export_is_audited_with_hashes_and_no_values(recorded: Recorded, tmp_path: Path) -> None:
    manifest, _ = _export(recorded, tmp_path, content="surrogate", dedupe="exact")
    (row,) = audit_rows(recorded.engine, action="export", limit=1)
    assert row["actor"].startswith("cli:") and row["target"] == str(tmp_path)
    details = row["details"]
    assert details["format"] == "openai-jsonl" and details["content"] == "surrogate"
    assert details["files"] == manifest.files == json.loads((tmp_path / "manifest.json").read_text())["files"]
    assert details["filters"] == {"tags": ["sdk"]} and details["counts"]["skipped"]["duplicate"] == 3
    assert NAME not in json.dumps(details) and EMAIL not in json.dumps(details)


def test_filters_select_by_tag_policy_model_upstream_and_time(recorded: Recorded, tmp_path: Path) -> None:
    def exported(**filters: Any) -> int:
        out = tmp_path / str(len(list(tmp_path.iterdir())))
        return int(_export(recorded, out, filters=Filters(**filters))[0].counts.exported)

    assert exported(tags=("sdk", "case-chat")) == 1
    assert exported(tags=("case",)) == 0  # a tag matches whole, never a part of one
    assert exported(upstreams=("anthropic",), tags=("sdk",)) == 4
    assert exported(models=(CLAUDE,)) == 4
    assert exported(policies=("default",), tags=("sdk",)) == EXPORTED
    assert exported(policies=("default@999",)) == 0
    assert exported(since=datetime.now(UTC)) == 0
    assert exported(statuses=("blocked",)) == 0  # blocked: recorded, but no answer to train on
    assert exported(decisions=("transform",), tags=("case-chat",)) == 1


def test_options_dedupe_last_turn_length_and_split(recorded: Recorded, tmp_path: Path) -> None:
    manifest, _ = _export(recorded, tmp_path / "a", dedupe="exact")
    # the second plain chat and the streamed one say exactly what the first said, and the streamed
    # Claude tool call exports exactly as the plain one did
    assert manifest.counts.skipped["duplicate"] == 3 and manifest.counts.exported == EXPORTED - 3
    manifest, lines = _export(recorded, tmp_path / "b", one_per_conversation=True)
    assert manifest.counts.skipped["superseded"] == 1  # the tool-call turn: its history was resent
    assert not any(len(line["messages"]) == 2 and line["messages"][-1].get("tool_calls") for line in lines[:5])
    manifest, _ = _export(recorded, tmp_path / "c", min_length=60, max_length=200)
    assert manifest.counts.skipped.get("too_short", 0) > 0 and manifest.counts.exported > 0
    first, _ = _export(recorded, tmp_path / "d", split={"validation": 0.5})
    again, _ = _export(recorded, tmp_path / "e", split={"validation": 0.5})
    assert first.counts.splits == again.counts.splits and set(first.counts.splits) == {"train", "validation"}
    assert (tmp_path / "d" / "validation.jsonl").exists()


def test_residual_check_drops_or_flags_rows_that_still_name_someone(
    recorded: Recorded, tmp_path: Path, detector: Any
) -> None:
    check = ResidualCheck(detector, DEFAULT_ENTITIES, 0.5)
    options: dict[str, Any] = {
        "format": "openai-jsonl",
        "filters": Filters(tags=("sdk",)),
        "content": "original",
        "purpose": "test",
        "dedupe": "off",
    }
    dropped = run(
        recorded.engine, recorded.sealer, ExportOptions(out=tmp_path / "d", residual_check="drop", **options), check
    )
    assert dropped.counts.skipped["residual_pii"] >= 8  # originals name Peter Parker
    clean = run(
        recorded.engine,
        recorded.sealer,
        ExportOptions(out=tmp_path / "s", residual_check="drop", **{**options, "content": "surrogate"}),
        check,
    )
    assert "residual_pii" not in clean.counts.skipped  # the fakes we put in are not residue
    flagged = run(
        recorded.engine, recorded.sealer, ExportOptions(out=tmp_path / "f", residual_check="flag", **options), check
    )
    assert flagged.counts.flagged == dropped.counts.skipped["residual_pii"] and flagged.counts.exported == EXPORTED
    flags = [json.loads(line) for line in (tmp_path / "f" / "flagged.jsonl").read_text().splitlines()]
    assert len(flags) == flagged.counts.flagged and all(
        "PERSON" in f["entities"] or "EMAIL_ADDRESS" in f["entities"] for f in flags
    )
    assert "flagged.jsonl" in flagged.files and NAME not in json.dumps(flags)


def test_cli_refuses_originals_without_the_flag_and_exports_quietly(recorded: Recorded, tmp_path: Path) -> None:
    env = {"DATABASE_URL": str(recorded.engine.url), "EXPORT_TEST_DATA_KEY": DATA_KEY}
    refused = CliRunner().invoke(
        main, ["export", "--format", "sharegpt", "--out", str(tmp_path / "x"), "--content", "original"], env=env
    )
    assert refused.exit_code == 2 and "--include-original" in refused.output
    result = CliRunner().invoke(
        main,
        [
            "export",
            "--format",
            "openai-jsonl",
            "--out",
            str(tmp_path / "o"),
            "--tag",
            "sdk",
            "--split",
            "validation=0.2",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    # near de-duplication is on by default: the echoed copies of one prompt are written once
    assert result.output.startswith("exported 6 of 13 ") and "opted_out 1" in result.output
    assert "duplicate 5" in result.output
    again = CliRunner().invoke(main, ["export", "--format", "openai-jsonl", "--out", str(tmp_path / "o")], env=env)
    assert again.exit_code == 1 and "not empty" in again.output


@pytest.fixture(scope="module")
def postgres_store() -> Iterator[Engine]:
    """A fresh PostgreSQL database holding 1,200 seeded exchanges (more than one streamed batch)."""
    with fresh_postgres(
        os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432"), "pp_test_export"
    ) as url:
        engine = make_engine(url)
        seed(engine, 1200)
        yield engine
        engine.dispose()


def test_a_postgres_store_streams_into_sharded_parquet_and_valid_jsonl(postgres_store: Engine, tmp_path: Path) -> None:
    sealer = SEED_SEALER
    options = ExportOptions(format="parquet", out=tmp_path / "p", rows_per_shard=500, dedupe="off")
    manifest = run(postgres_store, sealer, options)
    assert manifest.counts.exported == 1200 and manifest.counts.skipped == {}
    assert sorted(f for f in manifest.files if f.startswith("data/")) == [
        f"data/train-0000{i}-of-00003.parquet" for i in range(3)
    ]
    table = pq.read_table(tmp_path / "p" / "data")
    assert table.num_rows == 1200 and len(set(table.column("id").to_pylist())) == 1200
    for format_ in SCHEMAS:
        options = ExportOptions(
            format=format_,
            out=tmp_path / format_,
            filters=Filters(teams=("support",)),
            content="surrogate",
            dedupe="off",
        )
        manifest, lines = _export_lines(postgres_store, sealer, options)
        assert len(lines) == manifest.counts.exported == 400
        for line in lines:
            SCHEMAS[format_].model_validate(line)
        assert "<PERSON_1>" not in json.dumps(lines)


def _export_lines(engine: Engine, sealer: Sealer, options: ExportOptions) -> tuple[Any, list[dict[str, Any]]]:
    manifest = run(engine, sealer, options)
    return manifest, [json.loads(line) for line in (options.out / "train.jsonl").read_text().splitlines()]


def test_surrogates_cover_redacted_and_hashed_values_but_not_markup() -> None:
    text = "SSN <US_SSN>, host <IP_ADDRESS#3f9a1c2b7d4e>, again <IP_ADDRESS#3f9a1c2b7d4e>, code List<T> and <PERSON_2>"
    conversation = Conversation([Message("user", text), Message("assistant", "ok <PERSON_2>")])
    replaced, fakes = Surrogates().apply(conversation, "c1")
    question, answer = replaced.messages
    assert "<US_SSN>" not in question.content and "<IP_ADDRESS#" not in question.content
    assert "List<T>" in question.content  # not one of ours
    ip = question.content.split("host ")[1].split(",")[0]
    assert question.content.count(ip) == 2 and ip in fakes
    assert answer.content.removeprefix("ok ") in question.content  # one fake per token across turns
    elsewhere, _ = Surrogates().apply(conversation, "c2")
    assert elsewhere.messages[1].content != answer.content  # another conversation, another fake


@pytest.mark.parametrize(
    ("endpoint", "request_", "reason"),
    [
        (
            "openai-chat",
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "non_text_content",
        ),
        ("openai-embeddings", {"input": "hi"}, "no_conversation"),
        (
            "anthropic-messages",
            {"messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
            "non_text_content",
        ),
        ("openai-chat", {"messages": "not a list"}, "unreadable"),
    ],
)
def test_records_that_are_not_text_dialogues_are_skipped_with_a_reason(
    endpoint: str, request_: dict[str, Any], reason: str
) -> None:
    answer = {
        "choices": [{"message": {"role": "assistant", "content": "ok"}}],
        "content": [{"type": "text", "text": "ok"}],
    }
    with pytest.raises(Unreadable, match=reason):
        read_conversation(endpoint, request_, answer)


def test_residual_check_refuses_entity_types_the_detector_does_not_know(detector: Any) -> None:
    with pytest.raises(ValueError, match="NOT_A_TYPE"):
        ResidualCheck(detector, ("PERSON", "NOT_A_TYPE"), 0.5)
