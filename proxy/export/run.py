"""One export, start to finish: read, keep or skip each record, write, then the manifest and audit.

Each record goes read → conversation → (one per conversation) → length → de-duplicate →
surrogate → residual check → format → split, and either lands in a file or is counted under the
reason it was skipped.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Engine

from proxy.clock import as_utc
from proxy.export.conversation import Conversation, Unreadable
from proxy.export.formats import JSONL_FORMATS, Weights
from proxy.export.manifest import Counts, Manifest, dataset_card, sha256_file, tally
from proxy.export.readers import read_conversation
from proxy.export.residual import DEFAULT_ENTITIES, ResidualAction, ResidualCheck
from proxy.export.sinks import ExportRow, JsonlSink, ParquetSink, Sink
from proxy.export.source import ContentMode, Filters, SourceRow, stream
from proxy.export.surrogate import Surrogates
from proxy.store.audit import record_audit
from proxy.store.sealing import Sealer

FORMATS = (*JSONL_FORMATS, "parquet")
FLAGGED = "flagged.jsonl"
SPLIT_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
Progress = Callable[[int], None]


class ExportOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["openai-jsonl", "parquet", "sharegpt", "anthropic-jsonl"]
    out: Path
    filters: Filters = Filters()
    content: ContentMode = "forwarded"
    purpose: str | None = None
    residual_check: ResidualAction = "off"
    residual_entities: tuple[str, ...] = DEFAULT_ENTITIES
    residual_min_score: float = Field(0.5, ge=0, le=1)
    dedupe: bool = False
    one_per_conversation: bool = False
    split: dict[str, float] = Field(default_factory=dict)  # e.g. {"validation": 0.1}; the rest is train
    min_length: int | None = Field(None, ge=0)  # characters of message text
    max_length: int | None = Field(None, ge=0)
    weights: Weights = "none"
    rows_per_shard: int = Field(100_000, gt=0)

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
    skipped: Counter[str] = field(default_factory=Counter)
    splits: Counter[str] = field(default_factory=Counter)
    policies: set[str] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    seen: set[bytes] = field(default_factory=set)  # digests, for de-duplication
    flags: TextIO | None = None  # flagged.jsonl: which rows the residual check flagged, and for what

    def flag(self, out: Path, row: SourceRow, split: str, found: list[str]) -> None:
        if self.flags is None:
            self.flags = (out / FLAGGED).open("w", encoding="utf-8")
        self.flags.write(json.dumps({"id": row.id, "split": split, "entities": found}) + "\n")
        self.flagged += 1

    def exported(self, row: SourceRow, split: str) -> None:
        self.splits[split] += 1
        self.policies.update(row.policies)
        self.first = self.first or as_utc(row.created_at)  # rows come oldest first
        self.last = row.created_at

    def counts(self) -> Counts:
        return Counts(
            matched=self.matched,
            exported=sum(self.splits.values()),
            skipped=tally(self.skipped),
            flagged=self.flagged,
            splits=tally(self.splits),
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
    """Export, write manifest.json and the dataset card, and audit; returns the manifest."""
    _prepare(options.out)
    if options.content == "original":  # audited before a single original is read
        record_audit(engine, actor=actor(), action="read_original", target=str(options.out), purpose=options.purpose)
    superseded = _superseded(engine, sealer, options) if options.one_per_conversation else set()
    sink: Sink = (
        ParquetSink(options.out, options.rows_per_shard)
        if options.format == "parquet"
        else JsonlSink(options.out, options.format, options.weights)
    )
    surrogates = Surrogates() if options.content == "surrogate" else None
    export = _Export(options, sink, superseded, surrogates, residual if options.residual_check != "off" else None)
    tally_ = export.tally
    for row in stream(engine, sealer, options.filters, options.content):
        tally_.matched += 1
        reason = export.one(row)
        if reason:
            tally_.skipped[reason] += 1
        if progress:
            progress(1)
    files = sink.close()
    manifest = _finish(options, tally_, files)
    record_audit(
        engine,
        actor=actor(),
        action="export",
        target=str(options.out),
        format=options.format,
        content=options.content,
        purpose=options.purpose,
        filters=options.filters.model_dump(mode="json", exclude_defaults=True),
        options=options.recorded(),
        counts=manifest.counts.model_dump(),
        files=manifest.files,
    )
    return manifest


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; choose a new directory")
    out.mkdir(parents=True, exist_ok=True)


@dataclass
class _Export:
    """One export's steps and state, applied to each record in turn."""

    options: ExportOptions
    sink: Sink
    superseded: set[bytes]
    surrogates: Surrogates | None
    residual: ResidualCheck | None
    tally: _Tally = field(default_factory=_Tally)

    def one(self, row: SourceRow) -> str | None:
        """Write one record; the reason it was skipped, or None."""
        try:
            conversation = _conversation(row)
        except Unreadable as exc:
            return str(exc)
        reason = self._unwanted(conversation)
        if reason:
            return reason
        ours: set[str] = set()
        if self.surrogates is not None:
            conversation, ours = self.surrogates.apply(conversation, row.conversation)
        found = self.residual.found(conversation, ours) if self.residual else []
        if found and self.options.residual_check == "drop":
            return "residual_pii"
        try:
            prepared = self.sink.prepare(_export_row(row, conversation, found))
        except Unreadable as exc:
            return str(exc)
        split = _split(row.conversation, self.options.split) if self.options.split else "train"
        self.sink.write(split, prepared)
        if found:
            self.tally.flag(self.options.out, row, split, found)
        self.tally.exported(row, split)
        return None

    def _unwanted(self, conversation: Conversation) -> str | None:
        """Why the options leave this conversation out, if they do."""
        options = self.options
        digest = conversation.digest() if options.dedupe or self.superseded else b""
        if self.superseded and digest in self.superseded:
            return "superseded"
        length = conversation.length()
        if options.min_length is not None and length < options.min_length:
            return "too_short"
        if options.max_length is not None and length > options.max_length:
            return "too_long"
        if options.dedupe:
            if digest in self.tally.seen:
                return "duplicate"
            self.tally.seen.add(digest)
        return None


def _conversation(row: SourceRow) -> Conversation:
    if row.opted_out:
        raise Unreadable("opted_out")
    if row.unopened:
        raise Unreadable("sealed")
    return read_conversation(row.endpoint, row.request, row.response)


def _superseded(engine: Engine, sealer: Sealer, options: ExportOptions) -> set[bytes]:
    """First pass: every proper prefix of every conversation. A record equal to a prefix of another
    was resent as that one's history, so only the longer (later) turn is exported."""
    prefixes: set[bytes] = set()
    for row in stream(engine, sealer, options.filters, options.content):
        try:
            prefixes.update(_conversation(row).prefix_digests()[:-1])
        except Unreadable:
            continue
    return prefixes


def _export_row(row: SourceRow, conversation: Conversation, found: list[str]) -> ExportRow:
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
    return ExportRow(row.id, row.model, as_utc(row.created_at), conversation, metadata)


def _split(key: str, shares: dict[str, float]) -> str:
    """Deterministic by the conversation, so every turn of one conversation lands in the same split."""
    point = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8]) / 2**64
    edge = 0.0
    for name, share in sorted(shares.items()):
        edge += share
        if point < edge:
            return name
    return "train"


def _finish(options: ExportOptions, tally_: _Tally, files: list[Path]) -> Manifest:
    manifest = Manifest(
        format=options.format,
        content=options.content,
        purpose=options.purpose,
        created_at=datetime.now(UTC),
        filters=options.filters,
        options=options.recorded(),
        counts=tally_.counts(),
        policy_versions=sorted(tally_.policies),
        first_created_at=tally_.first,
        last_created_at=as_utc(tally_.last) if tally_.last else None,
        files={},
    )
    (options.out / "README.md").write_text(dataset_card(manifest), encoding="utf-8")
    names = [*files, Path("README.md")]
    if tally_.flags is not None:
        tally_.flags.close()
        names.append(Path(FLAGGED))
    manifest.files = {str(name): sha256_file(options.out / name) for name in names}
    (options.out / "manifest.json").write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return manifest
