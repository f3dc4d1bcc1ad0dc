"""Datasets an ML team can trust (#19): each defect reproduced through the real store, with rows
recorded through the proxy by the official SDKs, then exported."""

from __future__ import annotations

import gc
import gzip
import json
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import openai
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, update

from proxy.cli import main
from proxy.export.conversation import Conversation, Message, Tool, ToolCall
from proxy.export.residual import DEFAULT_ENTITIES, ResidualCheck
from proxy.export.run import ExportOptions, frozen_heap, resume_after, run
from proxy.export.source import Filters
from proxy.store.sealing import Sealer
from proxy.store.tables import payloads, requests

from .conftest import RunningProxy, StartProxy
from .mock_vendor import MockVendor
from .stored import invoke

TEMPLATE = "Please ask {name} at {email} about the refund for order {order}."
PEOPLE = [("Peter Parker", "peter@dailybugle.com"), ("Lena Fischer", "lena@x.de")]


@dataclass
class Store:
    running: RunningProxy
    engine: Engine
    sealer: Sealer
    vendor: MockVendor

    def ask(self, messages: list[Any], tag: str, subject: str | None = None, **headers: str) -> str:
        extra = {"X-Proxy-Tags": f"{tag},datasets", **headers}
        if subject:
            extra["X-Proxy-Subject"] = subject
        reply = self.running.client().chat.completions.create(
            model="gpt-4o",
            messages=messages,
            extra_headers=extra,  # type: ignore[arg-type]
        )
        return reply.choices[0].message.content or ""

    def flush(self) -> None:
        self.running.services.recorder.flush()

    def export(self, out: Path, **options: Any) -> tuple[Any, list[dict[str, Any]]]:
        self.flush()
        options.setdefault("format", "openai-jsonl")
        manifest = run(self.engine, self.sealer, ExportOptions(out=out, **options))
        lines = [json.loads(line) for path in sorted(out.glob("*.jsonl")) for line in path.read_text().splitlines()]
        return manifest, lines


@pytest.fixture(scope="module")
def store(start_proxy: StartProxy, session_vendor: MockVendor) -> Iterator[Store]:
    session_vendor.reset()
    with start_proxy() as running:
        engine = running.services.recorder.engine
        yield Store(running, engine, running.services.sealer, session_vendor)
    session_vendor.reset()


def _tagged(tag: str) -> Filters:
    return Filters(tags=(tag,))


def test_folding_keeps_other_conversations_and_only_folds_earlier_turns(store: Store, tmp_path: Path) -> None:
    (name, email), (other, other_email) = PEOPLE[0], PEOPLE[1]
    # another subject's single request, written FIRST, reads exactly like turn 1 below once pseudonymized
    store.ask([{"role": "user", "content": TEMPLATE.format(name=other, email=other_email, order=7)}], "fold", "bob")
    turn1 = [{"role": "user", "content": TEMPLATE.format(name=name, email=email, order=7)}]
    answer = store.ask(turn1, "fold", "alice")
    turn2 = [*turn1, {"role": "assistant", "content": answer}, {"role": "user", "content": "And the invoice?"}]
    store.ask(turn2, "fold", "alice")
    store.ask(turn1, "fold", "alice")  # a new conversation opening the same way, AFTER the longer one
    manifest, lines = store.export(tmp_path, filters=_tagged("fold"), one_per_conversation=True, dedupe="off")
    assert manifest.counts.skipped == {"superseded": 1}  # alice's first turn, and nothing of bob's
    assert manifest.counts.exported == 3
    assert sorted(len(line["messages"]) for line in lines) == [2, 2, 4]
    folded = next(line for line in lines if len(line["messages"]) == 4)
    assert [m["role"] for m in folded["messages"]] == ["user", "assistant", "user", "assistant"]


def test_a_conversation_id_scopes_folding_across_callers(store: Store, tmp_path: Path) -> None:
    turn1 = [{"role": "user", "content": "What is a refund window?"}]
    answer = store.ask(turn1, "fold-id", None, **{"X-Proxy-Conversation": "conv-1"})
    turn2 = [*turn1, {"role": "assistant", "content": answer}, {"role": "user", "content": "And for sale items?"}]
    store.ask(turn2, "fold-id", "someone", **{"X-Proxy-Conversation": "conv-1"})
    store.ask(turn1, "fold-id", None, **{"X-Proxy-Conversation": "conv-2"})  # another conversation: kept
    manifest, _ = store.export(tmp_path, filters=_tagged("fold-id"), one_per_conversation=True, dedupe="off")
    assert manifest.counts.skipped == {"superseded": 1} and manifest.counts.exported == 2


def test_surrogates_are_realistic_and_distinct_redacted_values_stay_distinct(store: Store, tmp_path: Path) -> None:
    text = (
        "Patient DOB: 03/11/1958, admitted today. Her husband, DOB: 07/04/1962, signed. "
        "Again: patient DOB: 03/11/1958. Ship it to 221B Baker Street, London NW1 6XE. Thanks"
    )
    store.ask([{"role": "user", "content": text}], "surrogate", "carol")
    manifest, (line,) = store.export(tmp_path, filters=_tagged("surrogate"), content="surrogate")
    question = line["messages"][0]["content"]
    assert "<" not in question, question  # every placeholder replaced, none left as is
    assert "Baker Street" not in question
    address = question.split("Ship it to ")[1].removesuffix(". Thanks")
    assert any(c.isdigit() for c in address) and any(c.isalpha() for c in address)  # a street, not noise
    first, second, third = re.findall(r"DOB: (\d{4}-\d{2}-\d{2})\b", question)
    assert first == third != second  # one person's birthday stays one; two people's stay two


def test_residual_check_compares_the_fakes_span_not_the_wider_finding(detector: Any) -> None:
    check = ResidualCheck(detector, DEFAULT_ENTITIES, 0.5)
    fake = "Lori Foster"
    conversation = Conversation([Message("user", f"Dear {fake}, thank you."), Message("assistant", "ok")])
    assert check.found(conversation, {fake}) == []
    leaked = Conversation([Message("user", f"Dear {fake}, Peter Parker called."), Message("assistant", "ok")])
    assert check.found(leaked, {fake}) == ["PERSON"]


def test_a_conversations_digest_is_its_last_prefix_digest() -> None:
    """Folding finds an earlier turn by its digest among a later turn's prefix digests, and the
    digest is computed apart (faster): they must agree, tools, tool calls and all."""
    tools = [Tool("send_mail", "Sends mail", {"type": "object"})]
    call = ToolCall("call_1", "send_mail", '{"to": "a@b.c",  "body": "hi"}')
    messages = [Message("user", "Mail a@b.c"), Message("assistant", "", (call,)), Message("tool", "sent", (), "call_1")]
    conversation = Conversation(messages, tools)
    prefixes = conversation.prefix_digests()
    assert len(set(prefixes)) == 3 and conversation.digest() == prefixes[-1]
    assert Conversation(messages[:2], tools).digest() == prefixes[1]
    respaced = replace(call, arguments='{"body":"hi","to":"a@b.c"}')  # the same JSON, other spacing and order
    assert Conversation([messages[0], Message("assistant", "", (respaced,))], tools).digest() == prefixes[1]
    assert Conversation(messages).digest() != conversation.digest()  # the tools count
    assert Conversation([]).digest() == b""


def test_an_export_exempts_the_objects_alive_before_it_from_collection_and_then_restores_them() -> None:
    before, thresholds = gc.get_freeze_count(), gc.get_threshold()
    with frozen_heap():
        assert gc.get_freeze_count() > before  # full collections skip them while the export runs
        assert gc.get_threshold()[0] > thresholds[0]
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds


def test_identical_prompts_stay_in_one_split_and_near_copies_are_dropped(store: Store, tmp_path: Path) -> None:
    for order in range(12):
        for name, email in PEOPLE:  # two people, one templated prompt: identical once pseudonymized
            store.ask([{"role": "user", "content": TEMPLATE.format(name=name, email=email, order=order)}], "split")
    split = {"validation": 0.5}
    manifest, _ = store.export(tmp_path / "all", filters=_tagged("split"), split=split, dedupe="off")
    assert manifest.counts.exported == 24 and set(manifest.counts.splits) == {"train", "validation"}
    train = (tmp_path / "all" / "train.jsonl").read_text().splitlines()
    validation = (tmp_path / "all" / "validation.jsonl").read_text().splitlines()
    assert not set(train) & set(validation)  # no validation row is a copy of a training row
    assert manifest.counts.cross_split_duplicates == 0
    exact, _ = store.export(tmp_path / "exact", filters=_tagged("split"), dedupe="exact")
    assert exact.counts.exported == 12 and exact.counts.skipped == {"duplicate": 12}
    long = (
        "Our customer wrote in again about the parcel that never arrived. It left the warehouse on Monday, "
        "the tracking page has not moved since Tuesday, and the courier's hotline keeps them waiting for "
        "an hour. Please draft a short, friendly apology that offers a replacement or a full refund, "
        "mentions order number {order}, and promises an answer within two working days."
    )
    for order in range(10):
        store.ask([{"role": "user", "content": long.format(order=1000 + order)}], "near")
    near, _ = store.export(tmp_path / "near", filters=_tagged("near"))  # near is the default
    assert near.counts.exported <= 3 and near.counts.skipped == {"duplicate": 10 - near.counts.exported}
    exact, _ = store.export(tmp_path / "near-exact", filters=_tagged("near"), dedupe="exact")
    assert exact.counts.exported == 10  # no two are exactly the same


def test_incremental_exports_resume_by_write_order_not_time(store: Store, tmp_path: Path) -> None:
    store.ask([{"role": "user", "content": "first batch question"}], "incremental")
    first, _ = store.export(tmp_path / "1", filters=_tagged("incremental"), dedupe="off")
    assert first.counts.exported == 1 and first.last_seq is not None
    assert resume_after(tmp_path / "1") == first.last_seq
    store.ask([{"role": "user", "content": "second batch question"}], "incremental")
    store.flush()
    with store.engine.begin() as connection:  # as a spool replay writes it: late, with an earlier time
        newest = connection.execute(select(requests.c.id).order_by(requests.c.seq.desc()).limit(1)).scalar_one()
        connection.execute(
            update(requests)
            .where(requests.c.id == newest)
            .values(created_at=first.first_created_at - timedelta(hours=1))
        )
    after = Filters(tags=("incremental",), after_seq=first.last_seq)
    second, lines = store.export(tmp_path / "2", filters=after, dedupe="off")
    assert second.counts.exported == 1 and lines[0]["messages"][0]["content"] == "second batch question"
    assert second.last_seq is not None and second.last_seq > first.last_seq
    boundary = Filters(tags=("incremental",), since=first.last_created_at)
    exclusive, _ = store.export(tmp_path / "3", filters=boundary, dedupe="off")
    assert exclusive.counts.exported == 0  # the boundary row belongs to the export that ended there


def test_original_mode_drops_rows_it_cannot_restore_and_files_are_private(store: Store, tmp_path: Path) -> None:
    store.ask([{"role": "user", "content": "Server 81.2.69.160 is down, says Peter Parker."}], "original")
    store.ask([{"role": "user", "content": "Ask Peter Parker to call back."}], "original")
    manifest, lines = store.export(
        tmp_path, filters=_tagged("original"), content="original", purpose="test", dedupe="off"
    )
    assert manifest.counts.skipped == {"unrestored_placeholder": 1}  # the hashed IP came back as a stand-in
    assert lines[0]["messages"][1]["content"] == "Ask Peter Parker to call back."
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(tmp_path.stat().st_mode) in (0o700, 0o755)  # pytest made it; a new one is 0700
    card = (tmp_path / "README.md").read_text()
    assert "0600" in card and "unrestored_placeholder" in card
    ids = (tmp_path / "train.ids").read_text().split()
    assert len(ids) == len(lines) == 1


def _request_id(store: Store, text: str, tag: str, subject: str | None = None) -> str:
    headers = {"X-Proxy-Tags": f"{tag},datasets", **({"X-Proxy-Subject": subject} if subject else {})}
    raw = store.running.client().chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": text}], extra_headers=headers
    )
    return str(raw.headers["x-proxy-request-id"])


def test_lineage_follows_a_subject_into_exports_and_erasure_names_them(store: Store, tmp_path: Path) -> None:
    mine = _request_id(store, "Ask Peter Parker about the lineage report.", "lineage", "dora")
    _request_id(store, "Ask Lena Fischer about the lineage plan.", "lineage", "eve")
    first, _ = store.export(tmp_path / "a", filters=_tagged("lineage"), dedupe="off")
    second, _ = store.export(tmp_path / "b", filters=Filters(tags=("lineage",), teams=("nobody",)))
    url = str(store.engine.url)
    listed = invoke(["exports", "list"], url).output
    assert first.id in listed and second.id in listed and str(tmp_path / "a") in listed
    which = invoke(["exports", "which", "--subject", "dora"], url).output
    assert first.id in which and "holds 1" in which and second.id not in which  # the second holds no row
    assert first.id in invoke(["exports", "which", mine], url).output
    assert "no export holds it" in invoke(["exports", "which", "--subject", "nobody"], url).output
    rows = [json.loads(line) for line in invoke(["exports", "which", mine, "--json"], url).output.splitlines()]
    assert [row["id"] for row in rows] == [first.id] and rows[0]["rows"] == 2 and rows[0]["complete"]

    database = Path(store.engine.url.database or "")
    with store.engine.connect() as connection:
        blobs = connection.execute(select(payloads.c.data).where(payloads.c.request_id == mine)).scalars().all()
    erased = invoke(["erase", "--subject", "dora", "--yes"], url).output
    assert f"export {first.id} at {tmp_path / 'a'} holds 1" in erased
    wal = database.with_name(database.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated
    on_disk = database.read_bytes()
    assert blobs and not any(blob in on_disk for blob in blobs)  # secure_delete zeroed the pages


def test_feedback_attaches_scores_and_labels_that_exports_filter_on(store: Store, tmp_path: Path) -> None:
    good, bad, unrated = (_request_id(store, f"Question number {n} about feedback", "feedback") for n in range(3))
    client = store.running.client()
    for request_id, body in [(good, {"score": 1}), (good, {"label": "gold"}), (bad, {"score": 0, "comment": "no"})]:
        answer = client.post("/feedback", body={"request_id": request_id, **body}, cast_to=object)
        assert answer["request_id"] == request_id and answer["object"] == "feedback"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.post("/feedback", body={"request_id": "not-a-request", "score": 1}, cast_to=object)
    with pytest.raises(openai.BadRequestError) as refused:
        client.post("/feedback", body={"request_id": good, "score": "Peter Parker"}, cast_to=object)
    assert "score" in str(refused.value) and "Peter Parker" not in str(refused.value)
    with pytest.raises(openai.APIStatusError) as too_big:  # read with a bound, like every other body
        client.post("/feedback", body={"request_id": good, "comment": "x" * 70_000}, cast_to=object)
    assert too_big.value.status_code == 413
    scored, lines = store.export(tmp_path / "s", filters=Filters(tags=("feedback",), min_score=0.5), dedupe="off")
    assert scored.counts.exported == 1 and lines[0]["messages"][0]["content"] == "Question number 0 about feedback"
    labelled, _ = store.export(tmp_path / "l", filters=Filters(tags=("feedback",), labels=("gold",)), dedupe="off")
    assert labelled.counts.exported == 1
    everything, _ = store.export(tmp_path / "e", filters=_tagged("feedback"), dedupe="off")
    assert everything.counts.exported == 3 and unrated


def test_limit_and_a_seeded_sample(store: Store, tmp_path: Path) -> None:
    for n in range(12):
        _request_id(store, f"Sampling question {n}: which plan fits a team of {n + 2}?", "sample")
    limited, _ = store.export(tmp_path / "l", filters=_tagged("sample"), limit=3, dedupe="off")
    assert limited.counts.exported == 3
    first, a = store.export(tmp_path / "a", filters=_tagged("sample"), sample=4, seed=7, dedupe="off")
    again, b = store.export(tmp_path / "b", filters=_tagged("sample"), sample=4, seed=7, dedupe="off")
    assert first.counts.exported == 4 and a == b  # the same seed picks the same records
    assert first.counts.matched == 4  # the sample is what the export reads
    others = [store.export(tmp_path / str(seed), filters=_tagged("sample"), sample=4, seed=seed)[1] for seed in (8, 9)]
    assert any(other != a for other in others)  # (request ids are random: two seeds agree 1 time in 495)


def test_preference_pairs_from_two_scored_answers_to_one_prompt(store: Store, tmp_path: Path) -> None:
    client = store.running.client()
    prompt: list[Any] = [{"role": "user", "content": "Summarise our refund policy in one line."}]
    ids = []
    for reply in ("Refunds within 30 days, no questions asked.", "Refunds are complicated.", "Ask support."):
        store.vendor.script.reply = reply
        try:
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=prompt, extra_headers={"X-Proxy-Tags": "dpo"}
            )
        finally:
            store.vendor.script.reply = None
        ids.append(raw.headers["x-proxy-request-id"])
    for request_id, score in zip(ids, (5, 1, 3), strict=True):
        client.post("/feedback", body={"request_id": request_id, "score": score}, cast_to=object)
    _request_id(store, "An unscored question about preferences", "dpo")
    manifest, lines = store.export(tmp_path, format="dpo-jsonl", filters=_tagged("dpo"))
    assert manifest.counts.pairs == 1 and manifest.counts.skipped == {"unscored": 1}
    (pair,) = lines
    assert pair["prompt"] == prompt
    assert pair["chosen"] == [{"role": "assistant", "content": "Refunds within 30 days, no questions asked."}]
    assert pair["rejected"] == [{"role": "assistant", "content": "Refunds are complicated."}]
    assert (tmp_path / "train.ids").read_text().split() == [ids[0], ids[1]]
    card = (tmp_path / "README.md").read_text()
    assert "reinforcement-learning" in card and "`chosen`" in card and "opted out" in card


def test_token_counts_histogram_cost_and_max_tokens_with_a_local_tokenizer(store: Store, tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))  # one token per word: counts are easy to check
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(["short answer please"], trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    for words in (3, 40):
        _request_id(store, " ".join(["word"] * words), "tokens")  # the echo doubles it: 6 and 80 tokens
    options = {"filters": _tagged("tokens"), "tokenizer": path, "price_per_million": 2.0}
    manifest, _ = store.export(tmp_path / "all", format="parquet", dedupe="off", **options)
    tokens = manifest.counts.tokens
    assert tokens["total"] == 86 and tokens["max"] == 80 and tokens["histogram"] == {"<=64": 1, "<=128": 1}
    assert tokens["cost_per_epoch"] == round(86 * 2.0 / 1e6, 4)
    table = pq.read_table(tmp_path / "all" / "data")
    assert sorted(table.column("num_tokens").to_pylist()) == [6, 80]
    assert "tokens (tokenizer.json): 86 in all" in (tmp_path / "all" / "README.md").read_text()
    capped, _ = store.export(tmp_path / "capped", dedupe="off", max_tokens=64, **options)
    assert capped.counts.exported == 1 and capped.counts.skipped == {"too_many_tokens": 1}
    assert ExportOptions(format="openai-jsonl", out=tmp_path / "x", max_tokens=10).tokenizer == "o200k_base"


def test_o200k_base_is_tiktokens_own_encoding_from_the_vendored_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken_ext.openai_public as openai_public

    from proxy.export.tokens import O200K_SHA256, VOCABULARY, o200k_base

    asked = []
    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda url, expected_hash: asked.append(expected_hash))
    definition = openai_public.o200k_base()  # tiktoken's own definition, its download stubbed out
    encoding = o200k_base(VOCABULARY)
    assert asked == [O200K_SHA256]  # the hash we check is the one tiktoken checks
    assert encoding._pat_str == definition["pat_str"] and encoding._special_tokens == definition["special_tokens"]
    assert encoding.n_vocab == 200_019  # 199,998 ranks, <|endoftext|> 199999 ... <|endofprompt|> 200018
    assert encoding.encode_ordinary("hello world") == [24912, 2375]  # OpenAI's ids for it
    assert encoding.encode_ordinary("Hello, world!") == [13225, 11, 2375, 0]
    assert len(encoding.encode_ordinary("<|endoftext|>")) > 1  # text that looks special counts as text


def test_token_counts_with_o200k_base_by_default(store: Store, tmp_path: Path) -> None:
    _request_id(store, "hello world", "o200k")  # with the echoed answer: "hello world\nhello world"
    # "Hello" "," " world" "!" and then " Hello" ...: 80 tokens, twice; o200k_base reads "!\n" as one token
    _request_id(store, " ".join(["Hello, world!"] * 20), "o200k")
    store.flush()
    url = str(store.engine.url)
    common = ["export", "--tag", "o200k", "--dedupe", "off"]
    invoke([*common, "--format", "parquet", "--tokens", "--out", str(tmp_path / "all")], url)
    tokens = json.loads((tmp_path / "all" / "manifest.json").read_text())["counts"]["tokens"]
    assert tokens["tokenizer"] == "o200k_base" and tokens["total"] == 165 and tokens["max"] == 160
    table = pq.read_table(tmp_path / "all" / "data")
    assert sorted(table.column("num_tokens").to_pylist()) == [5, 160]  # "hello" " world" "\n" "hello" " world"
    assert tokens["histogram"] == {"<=64": 1, "<=256": 1}
    assert "tokens (o200k_base): " in (tmp_path / "all" / "README.md").read_text()
    output = invoke([*common, "--format", "openai-jsonl", "--max-tokens", "10", "--out", str(tmp_path / "c")], url)
    assert output.output.startswith("exported 1 of 2 ") and "too_many_tokens 1" in output.output
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["counts"]["tokens"]["tokenizer"] == "o200k_base" and manifest["counts"]["tokens"]["total"] == 5
    assert "hello world" in (tmp_path / "c" / "train.jsonl").read_text()


def test_a_tampered_o200k_vocabulary_is_refused(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from proxy.export import tokens

    text = gzip.decompress(tokens.VOCABULARY.read_bytes())
    hello, world = b"aGVsbG8= 24912\n", b"IHdvcmxk 2375\n"  # "hello" and " world"
    assert hello in text and world in text
    swapped = text.replace(hello, b"aGVsbG8= 2375\n").replace(world, b"IHdvcmxk 24912\n")
    tampered = tmp_path / "o200k_base.tiktoken.gz"
    tampered.write_bytes(gzip.compress(swapped))
    monkeypatch.setattr(tokens, "VOCABULARY", tampered)
    _request_id(store, "a question for a tampered vocabulary", "tampered")
    store.flush()
    args = ["export", "--format", "openai-jsonl", "--tag", "tampered", "--tokens", "--out", str(tmp_path / "out")]
    env = {"DATABASE_URL": str(store.engine.url), "PRIVACY_PROXY_CONFIG": ""}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 1, result.output
    assert f"o200k_base: the vocabulary {tampered} is not OpenAI's (sha256 " in result.output
    assert "rebuild it with scripts/vendor_o200k.py" in result.output
    assert not (tmp_path / "out" / "train.jsonl").exists()
    refused = CliRunner().invoke(main, [*args[:-1], str(tmp_path / "o"), "--tokenizer", "o200k"], env=env)
    assert refused.exit_code == 2 and "o200k_base, or the path of a tokenizer.json file" in refused.output


def test_cli_filters_on_finish_reason_and_resumes_with_since_last(store: Store, tmp_path: Path) -> None:
    _request_id(store, "A plain question for the command line", "cli")
    store.vendor.script.tool_calls = [{"name": "send_mail", "arguments": json.dumps({"to": "<EMAIL_ADDRESS_1>"})}]
    try:
        _request_id(store, "Mail peter@dailybugle.com the answer", "cli")
    finally:
        store.vendor.script.tool_calls = None
    store.flush()
    url, first, second = str(store.engine.url), tmp_path / "first", tmp_path / "second"
    common = ["export", "--format", "openai-jsonl", "--tag", "cli", "--dedupe", "off"]
    output = invoke([*common, "--out", str(first), "--finish-reason", "tool_calls"], url).output
    assert output.startswith("exported 1 of 2 ") and "finish_reason 1" in output
    _request_id(store, "A later question for the command line", "cli")
    store.flush()
    output = invoke([*common, "--out", str(second), "--since-last", str(first)], url).output
    assert output.startswith("exported 1 of 1 ")
    assert "A later question" in (second / "train.jsonl").read_text()


def test_tool_call_arguments_as_objects_for_chat_templates(store: Store, tmp_path: Path) -> None:
    store.vendor.script.tool_calls = [{"name": "send_mail", "arguments": json.dumps({"to": "<EMAIL_ADDRESS_1>"})}]
    try:
        _request_id(store, "Mail lena@x.de the invoice", "arguments")
    finally:
        store.vendor.script.tool_calls = None
    _, (strings,) = store.export(tmp_path / "s", filters=_tagged("arguments"))
    _, (objects,) = store.export(tmp_path / "o", filters=_tagged("arguments"), arguments="object")
    (as_string,) = strings["messages"][-1]["tool_calls"]
    (as_object,) = objects["messages"][-1]["tool_calls"]
    assert (
        json.loads(as_string["function"]["arguments"])
        == as_object["function"]["arguments"]
        == {"to": "<EMAIL_ADDRESS_1>"}
    )


def test_parquet_types_tools_and_arguments_as_json_for_chat_templates(store: Store, tmp_path: Path) -> None:
    """Parquet's JSON logical type (Arrow's `arrow.json`): Hugging Face `datasets` reads these columns
    as objects, so a chat template no longer encodes `tools` and `arguments` a second time."""
    tool = {"name": "send_mail", "description": "Sends mail", "parameters": {"type": "object"}}
    store.vendor.script.tool_calls = [{"name": "send_mail", "arguments": json.dumps({"to": "<EMAIL_ADDRESS_1>"})}]
    try:
        store.running.client().chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Mail lena@x.de the invoice"}],
            tools=[{"type": "function", "function": tool}],  # type: ignore[list-item]
            extra_headers={"X-Proxy-Tags": "parquet-json,datasets"},
        )
    finally:
        store.vendor.script.tool_calls = None
    store.export(tmp_path / "p", format="parquet", filters=_tagged("parquet-json"))
    (shard,) = (tmp_path / "p" / "data").iterdir()
    logical = {column.path: column.logical_type.type for column in pq.ParquetFile(shard).schema}
    assert logical["tools"] == logical["messages.list.element.tool_calls.list.element.function.arguments"] == "JSON"
    table = pq.read_table(shard)
    assert str(table.schema.field("tools").type) == "extension<arrow.json>"
    (row,) = table.to_pylist()
    assert json.loads(row["tools"]) == [{"type": "function", "function": tool}]
    (call,) = row["messages"][-1]["tool_calls"]
    assert json.loads(call["function"]["arguments"]) == {"to": "<EMAIL_ADDRESS_1>"}
