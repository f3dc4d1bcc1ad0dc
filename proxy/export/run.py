"""One export, start to finish: read, keep or skip each record, write, then the manifest and audit.

Records are read in write order and handled a batch at a time: read → conversation → (folded
into a later turn) → length → de-duplicate (exact, or near by MinHash, hashed for the whole batch
at once) → split by content → surrogate → residual check → format, and each either lands in a
file or is counted under the reason it was skipped. Which records each export wrote is kept in
the database as it goes (lineage), so erasure can follow a subject into datasets on disk.
"""

from __future__ import annotations

import gc
import getpass
import hashlib
import heapq
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Engine

from proxy.clock import as_utc
from proxy.export.conversation import Conversation, Unreadable
from proxy.export.dedupe import DedupeMode, Deduper, band_keys
from proxy.export.folding import Folding
from proxy.export.formats import JSONL_FORMATS, Weights
from proxy.export.manifest import Counts, Manifest, dataset_card, sha256_file, tally
from proxy.export.preference import Pairs
from proxy.export.readers import finish_reason, read_conversation
from proxy.export.residual import DEFAULT_ENTITIES, ResidualAction, ResidualCheck
from proxy.export.sinks import ExportRow, JsonlSink, ParquetSink, Sink, create
from proxy.export.source import ContentMode, Filters, SourceRow, strata, stream
from proxy.export.surrogate import Surrogates, has_stand_in
from proxy.export.tokens import O200K_BASE, TokenCounter
from proxy.governance.consent import opted_out_subjects
from proxy.store import lineage
from proxy.store.audit import record_audit
from proxy.store.sealing import Sealer

FORMATS = (*JSONL_FORMATS, "parquet", "dpo-jsonl")
FLAGGED = "flagged.jsonl"
SPLIT_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
Progress = Callable[[int], None]


BATCH = 2048
T = TypeVar("T")


class ExportOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["openai-jsonl", "parquet", "sharegpt", "anthropic-jsonl", "dpo-jsonl"]
    out: Path
    filters: Filters = Filters()
    content: ContentMode = "forwarded"
    purpose: str | None = None
    residual_check: ResidualAction = "off"
    residual_entities: tuple[str, ...] = DEFAULT_ENTITIES
    residual_min_score: float = Field(0.5, ge=0, le=1)
    dedupe: DedupeMode = "near"
    one_per_conversation: bool = False
    split: dict[str, float] = Field(default_factory=dict)  # e.g. {"validation": 0.1}; the rest is train
    min_length: int | None = Field(None, ge=0)  # characters of message text
    max_length: int | None = Field(None, ge=0)
    weights: Weights = "none"
    arguments: Literal["string", "object"] = "string"  # openai-jsonl tool-call arguments: OpenAI's strings, or objects
    rows_per_shard: int = Field(100_000, gt=0)
    limit: int | None = Field(None, gt=0)  # stop after this many rows are written
    sample: int | None = Field(None, gt=0)  # a seeded random sample of this many matched records
    seed: int = 0
    stratify: Literal["team", "model"] | None = None  # the sample keeps each team's (model's) share
    # token counts, histogram and cost in the manifest: "o200k_base" (vendored) or a local tokenizer.json;
    # --max-tokens and --price-per-million count with o200k_base unless another is named
    tokenizer: Literal["o200k_base"] | Path | None = None
    max_tokens: int | None = Field(None, gt=0)  # skip longer rows
    price_per_million: float | None = Field(None, ge=0)  # training price per million tokens, for the estimate

    @model_validator(mode="before")
    @classmethod
    def _default_tokenizer(cls, data: Any) -> Any:
        """Asking for a token limit or a cost is asking for token counts: with o200k_base by default."""
        if isinstance(data, dict) and data.get("tokenizer") is None:
            if data.get("max_tokens") is not None or data.get("price_per_million") is not None:
                return {**data, "tokenizer": O200K_BASE}
        return data

    @model_validator(mode="after")
    def _check(self) -> ExportOptions:
        if self.content == "original" and not (self.purpose or "").strip():
            raise ValueError("original content needs a purpose")
        if sum(self.split.values()) >= 1 or any(share <= 0 for share in self.split.values()) or "train" in self.split:
            raise ValueError("split shares must be > 0 and add up to less than 1; the rest is train")
        if not all(SPLIT_NAME.match(name) for name in self.split):  # a split name becomes a file name
            raise ValueError("split names are lowercase letters, digits, '-' and '_'")
        return self

    def recorded(self) -> dict[str, Any]:
        """The options a manifest and an audit row record (filters and purpose are recorded apart)."""
        return self.model_dump(mode="json", exclude={"out", "filters", "purpose", "format", "content"})


@dataclass
class _Tally:
    matched: int = 0
    flagged: int = 0
    cross_split: int = 0  # rows repeating a row of another split (only possible with dedupe off)
    pairs: int | None = None  # dpo-jsonl: preference pairs written
    tokens: dict[str, Any] | None = None  # --tokens/--tokenizer: totals, histogram, cost
    skipped: Counter[str] = field(default_factory=Counter)
    splits: Counter[str] = field(default_factory=Counter)
    policies: set[str] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    last_seq: int | None = None  # the highest requests.seq read: where the next --since-last starts
    flags: TextIO | None = None  # flagged.jsonl: which rows the residual check flagged, and for what

    def flag(self, out: Path, row: SourceRow, split: str, found: list[str]) -> None:
        if self.flags is None:
            self.flags = create(out / FLAGGED)  # type: ignore[assignment]
        assert self.flags is not None
        self.flags.write(json.dumps({"id": row.id, "split": split, "entities": found}) + "\n")
        self.flagged += 1

    def exported(self, row: SourceRow, split: str) -> None:
        self.splits[split] += 1
        self.policies.update(row.policies)
        created = row.created_at  # made UTC once, at the end: a hot path
        self.first = created if self.first is None or created < self.first else self.first
        self.last = created if self.last is None or created > self.last else self.last

    def counts(self) -> Counts:
        return Counts(
            matched=self.matched,
            exported=sum(self.splits.values()),
            skipped=tally(self.skipped),
            flagged=self.flagged,
            splits=tally(self.splits),
            cross_split_duplicates=self.cross_split,
            pairs=self.pairs,
            tokens=self.tokens,
        )


def actor() -> str:
    return f"cli:{getpass.getuser()}"


def run(
    engine: Engine,
    sealer: Sealer,
    options: ExportOptions,
    residual: ResidualCheck | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Export, write manifest.json and the dataset card, record lineage, and audit; returns the manifest."""
    with frozen_heap():
        return _run(engine, sealer, options, residual, progress)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Exempt every object alive before the export (modules, the detector's spaCy model) from garbage
    collection while it runs: each full collection walked them all, ~0.5 s apiece, twice per 10k
    records, for nothing (they outlive the export). Young collections come every 50,000 net
    allocations rather than 700: a record's dicts and lists die by reference count, almost never in
    a cycle, so the hundreds of collections per 10k records found next to nothing."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _run(
    engine: Engine,
    sealer: Sealer,
    options: ExportOptions,
    residual: ResidualCheck | None,
    progress: Progress | None,
) -> Manifest:
    _prepare(options.out)
    if options.content == "original":  # audited before a single original is read
        record_audit(engine, actor=actor(), action="read_original", target=str(options.out), purpose=options.purpose)
    export_id = uuid.uuid4().hex
    lineage.begin(engine, export_id, datetime.now(UTC), actor(), options.format, options.content, str(options.out))
    if options.format == "dpo-jsonl":
        tally_, files = _preference_pairs(engine, sealer, options, residual, export_id)
        return _close(engine, options, tally_, files, export_id)
    folding = _folding(engine, sealer, options) if options.one_per_conversation else None
    sink: Sink = (
        ParquetSink(options.out, options.rows_per_shard)
        if options.format == "parquet"
        else JsonlSink(options.out, options.format, options.weights, options.arguments)
    )
    export = _Export(
        options,
        sink,
        folding,
        Surrogates() if options.content == "surrogate" else None,
        residual if options.residual_check != "off" else None,
        Deduper(options.dedupe),
        _sample(engine, options) if options.sample else None,
        TokenCounter(options.tokenizer) if options.tokenizer else None,
    )
    for batch in _batched(stream(engine, sealer, options.filters, options.content), BATCH):
        written = export.batch(batch)
        lineage.add_rows(engine, export_id, written)
        if progress:
            progress(len(batch))
        if export.full():
            break
    if export.tokens is not None:
        export.tally.tokens = export.tokens.summary(options.price_per_million)
    return _close(engine, options, export.tally, sink.close(), export_id)


def _close(engine: Engine, options: ExportOptions, tally_: _Tally, files: list[Path], export_id: str) -> Manifest:
    """Manifest and card, the lineage row completed, and the audit row."""
    manifest = _finish(options, tally_, files, export_id, len(opted_out_subjects(engine)))
    lineage.finish(engine, export_id, manifest.counts.exported, tally_.last_seq, manifest.model_dump_json())
    record_audit(
        engine,
        actor=actor(),
        action="export",
        target=str(options.out),
        export_id=export_id,
        format=options.format,
        content=options.content,
        purpose=options.purpose,
        filters=options.filters.model_dump(mode="json", exclude_defaults=True),
        options=options.recorded(),
        counts=manifest.counts.model_dump(),
        files=manifest.files,
    )
    return manifest


def resume_after(previous: Path) -> int:
    """`--since-last DIR`: the record sequence the export in DIR read up to."""
    try:
        manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ValueError(f"{previous} holds no readable manifest.json of an earlier export") from None
    last = manifest.get("last_seq")
    if not isinstance(last, int):
        raise ValueError(f"{previous}/manifest.json has no last_seq: it predates incremental exports")
    return last


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; choose a new directory")
    out.mkdir(mode=0o700, parents=True, exist_ok=True)


def _batched(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class _Candidate:
    """A record that passed the per-row checks, waiting for the batch's de-duplication."""

    row: SourceRow
    conversation: Conversation
    digest: bytes
    keys: list[int] = field(default_factory=list)
    tokens: int | None = None


@dataclass
class _Export:
    """One export's steps and state, applied to each batch of records in turn."""

    options: ExportOptions
    sink: Sink
    folding: Folding | None
    surrogates: Surrogates | None
    residual: ResidualCheck | None
    deduper: Deduper
    sampled: set[str] | None
    tokens: TokenCounter | None = None
    tally: _Tally = field(default_factory=_Tally)

    def full(self) -> bool:
        limit = self.options.limit
        return limit is not None and sum(self.tally.splits.values()) >= limit

    def batch(self, rows: list[SourceRow]) -> list[tuple[str, str]]:
        """Write what should be written of these records; (request id, split) of each row written."""
        candidates = []
        for row in rows:
            self.tally.last_seq = max(self.tally.last_seq or 0, row.seq)
            if self.sampled is not None and row.id not in self.sampled:
                continue
            self.tally.matched += 1
            try:
                candidates.append(self._candidate(row))
            except Unreadable as exc:
                self.tally.skipped[str(exc)] += 1
        texts = [_text(c.conversation) for c in candidates] if self.options.dedupe == "near" or self.tokens else []
        if self.options.dedupe == "near":
            for candidate, keys in zip(candidates, band_keys(texts), strict=True):
                candidate.keys = keys
        if self.tokens is not None:
            for candidate, tokens in zip(candidates, self.tokens.count(texts), strict=True):
                candidate.tokens = tokens
        written = []
        for candidate in candidates:
            if self.full():
                break
            try:
                written.append((candidate.row.id, self._write(candidate)))
            except Unreadable as exc:
                self.tally.skipped[str(exc)] += 1
        return written

    def _candidate(self, row: SourceRow) -> _Candidate:
        """The record's conversation, or `Unreadable` with the reason the options leave it out."""
        conversation = _conversation(row)
        wanted = self.options.filters.finish_reasons
        if wanted and finish_reason(row.endpoint, row.response) not in wanted:
            raise Unreadable("finish_reason")
        if self.options.content == "original" and _unrestored(conversation):
            raise Unreadable("unrestored_placeholder")
        digest = conversation.digest()
        if self.folding is not None and self.folding.superseded(row, digest):
            raise Unreadable("superseded")
        length = conversation.length()
        if self.options.min_length is not None and length < self.options.min_length:
            raise Unreadable("too_short")
        if self.options.max_length is not None and length > self.options.max_length:
            raise Unreadable("too_long")
        return _Candidate(row, conversation, digest)

    def _write(self, candidate: _Candidate) -> str:
        """Write one row; its split. `Unreadable` with a reason when it is left out."""
        row, conversation = candidate.row, candidate.conversation
        if self.deduper.duplicate(candidate.digest, candidate.keys):
            raise Unreadable("duplicate")
        max_tokens = self.options.max_tokens
        if max_tokens is not None and candidate.tokens is not None and candidate.tokens > max_tokens:
            raise Unreadable("too_many_tokens")
        split = _split(conversation.opening(), self.options.split) if self.options.split else "train"
        ours: set[str] = set()
        if self.surrogates is not None:
            conversation, ours = self.surrogates.apply(conversation, row.scope, row.subject, row.redacted)
        found = self.residual.found(conversation, ours) if self.residual else []
        if found and self.options.residual_check == "drop":
            raise Unreadable("residual_pii")
        prepared = self.sink.prepare(_export_row(row, conversation, found, candidate.tokens))
        self.sink.write(split, prepared)
        if self.deduper.keep(candidate.digest, candidate.keys, split):
            self.tally.cross_split += 1
        if found:
            self.tally.flag(self.options.out, row, split, found)
        self.tally.exported(row, split)
        if self.tokens is not None and candidate.tokens is not None:
            self.tokens.written(candidate.tokens)
        return split


def _preference_pairs(
    engine: Engine, sealer: Sealer, options: ExportOptions, residual: ResidualCheck | None, export_id: str
) -> tuple[_Tally, list[Path]]:
    """`dpo-jsonl`: scored answers grouped by prompt, the best and the worst of each written as a pair."""
    tally_, pairs = _Tally(), Pairs()
    surrogates = Surrogates() if options.content == "surrogate" else None
    for row in stream(engine, sealer, options.filters, options.content, scored=True):
        tally_.matched += 1
        tally_.last_seq = max(tally_.last_seq or 0, row.seq)
        ours: set[str] = set()
        try:
            conversation = _conversation(row)
            if row.score is None:
                raise Unreadable("unscored")
            if surrogates is not None:
                conversation, ours = surrogates.apply(conversation, row.scope, row.subject, row.redacted)
            if residual is not None and options.residual_check != "off" and residual.found(conversation, ours):
                raise Unreadable("residual_pii")  # a pair is dropped, never flagged: it mixes two records
        except Unreadable as exc:
            tally_.skipped[str(exc)] += 1
            continue
        pairs.add(row.id, row.score, conversation)
    rows = pairs.rows()
    with create(options.out / "train.jsonl", binary=True) as lines, create(options.out / "train.ids") as ids:
        for (chosen, rejected), pair in rows[: options.limit]:
            lines.write(orjson.dumps(pair) + b"\n")
            ids.write(f"{chosen} {rejected}\n")
    written = rows[: options.limit]
    lineage.add_rows(engine, export_id, [(i, "train") for ids_, _ in written for i in ids_])
    tally_.splits["train"] = len(written)
    tally_.pairs = len(written)
    return tally_, [Path("train.jsonl"), Path("train.ids")]


def _text(conversation: Conversation) -> str:
    return "\n".join(conversation.texts())


def _unrestored(conversation: Conversation) -> bool:
    """Original text still holding a stand-in the proxy never restores (a redacted `<PERSON>`, a
    hashed `<IP_ADDRESS#...>`), or one the answer made up: real and stand-in values mixed."""
    return any(has_stand_in(text) for text in conversation.texts())


def _conversation(row: SourceRow) -> Conversation:
    if row.opted_out:
        raise Unreadable("opted_out")
    if row.unopened:
        raise Unreadable("sealed")
    return read_conversation(row.endpoint, row.request, row.response)


def _folding(engine: Engine, sealer: Sealer, options: ExportOptions) -> Folding:
    """First pass: which records a later turn of their own conversation resent."""
    folding = Folding()

    def readable() -> Iterator[tuple[SourceRow, Conversation]]:
        for row in stream(engine, sealer, options.filters, options.content):
            try:
                yield row, _conversation(row)
            except Unreadable:
                continue

    folding.learn(readable())
    return folding


def _sample(engine: Engine, options: ExportOptions) -> set[str]:
    """`--sample N --seed S`: the N matched records whose seeded hash is smallest, so the same seed
    picks the same records; stratified, each team (or model) keeps its share of N."""
    assert options.sample is not None
    by_stratum: dict[str, list[tuple[bytes, str]]] = {}
    sizes: Counter[str] = Counter()
    for request_id, stratum in strata(engine, options.filters, options.stratify):
        sizes[stratum] += 1
        rank = hashlib.blake2b(f"{options.seed}\x00{request_id}".encode(), digest_size=8).digest()
        heap = by_stratum.setdefault(stratum, [])
        entry = (_inverted(rank), request_id)  # a max-heap of the smallest ranks, bounded by N
        if len(heap) < options.sample:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)
    total = sum(sizes.values()) or 1
    chosen: set[str] = set()
    for stratum, heap in by_stratum.items():
        share = options.sample if options.stratify is None else max(1, round(options.sample * sizes[stratum] / total))
        chosen.update(request_id for _, request_id in heapq.nlargest(share, heap))
    return chosen


def _inverted(rank: bytes) -> bytes:
    return bytes(255 - b for b in rank)


def _export_row(row: SourceRow, conversation: Conversation, found: list[str], tokens: int | None) -> ExportRow:
    metadata = {
        "endpoint": row.endpoint,
        "upstream": row.upstream,
        "team": row.team,
        "decision": row.decision,
        "conversation": row.conversation,
        "tags": list(row.tags),
        "policies": list(row.policies),
        "residual_pii": found,
    }
    return ExportRow(row.id, row.model, as_utc(row.created_at), conversation, metadata, tokens)


def _split(key: str, shares: dict[str, float]) -> str:
    """Deterministic by content (the opening user turn), so every copy of a prompt and every turn
    of one conversation land in the same split: validation never holds a copy of a training row."""
    point = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8]) / 2**64
    edge = 0.0
    for name, share in sorted(shares.items()):
        edge += share
        if point < edge:
            return name
    return "train"


def _finish(
    options: ExportOptions, tally_: _Tally, files: list[Path], export_id: str, opted_out: int | None
) -> Manifest:
    manifest = Manifest(
        opted_out_subjects=opted_out,
        id=export_id,
        format=options.format,
        content=options.content,
        purpose=options.purpose,
        created_at=datetime.now(UTC),
        filters=options.filters,
        options=options.recorded(),
        counts=tally_.counts(),
        policy_versions=sorted(tally_.policies),
        first_created_at=as_utc(tally_.first) if tally_.first else None,
        last_created_at=as_utc(tally_.last) if tally_.last else None,
        last_seq=tally_.last_seq if tally_.last_seq is not None else options.filters.after_seq,
        files={},
    )
    with create(options.out / "README.md") as card:
        card.write(dataset_card(manifest))
    names = [*files, Path("README.md")]
    if tally_.flags is not None:
        tally_.flags.close()
        names.append(Path(FLAGGED))
    manifest.files = {str(name): sha256_file(options.out / name) for name in names}
    with create(options.out / "manifest.json") as handle:
        handle.write(manifest.model_dump_json(indent=2) + "\n")
    return manifest
