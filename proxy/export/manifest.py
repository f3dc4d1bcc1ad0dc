"""What an export wrote and why: `manifest.json` for machines, a README.md dataset card for people.

Both hold filters, counts, skip reasons, policy versions and file hashes, never a value from a
conversation.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from proxy.export.source import ContentMode, Filters

CONTENT_TREATMENT = {
    "forwarded": "Text as the vendor received it: personal data is in the form the policy gave it "
    "(placeholders such as `<PERSON_1>`, masked, redacted or hashed values).",
    "surrogate": "Every placeholder (`<PERSON_1>`, `<US_SSN>`, `<IP_ADDRESS#...>`) is replaced by a realistic "
    "fake value of the same type (Faker), the same fake throughout a conversation.",
    "original": "ORIGINAL TEXT as clients sent it, personal data included. Exported on request, with a "
    "stated purpose, and audited. Redacted and hashed values (`<PERSON>`, `<IP_ADDRESS#...>`) are never "
    "restored, so a conversation still holding one is left out (`unrestored_placeholder`) rather than "
    "mixing real and stand-in values.",
}
ACCESS = (
    "Every file of this export was written readable by its owner only (mode 0600). It holds "
    "conversations of the company's users: share it only with people allowed to read the {content} "
    "content, and follow erasure requests into it (`privacy-proxy exports which --subject ID`)."
)


class Counts(BaseModel):
    matched: int = 0  # rows the filters selected
    exported: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)  # reason -> rows
    flagged: int = 0  # written, but the residual check found personal data in them
    splits: dict[str, int] = Field(default_factory=dict)
    # written rows that repeat a row written to another split: 0 unless de-duplication is off
    cross_split_duplicates: int = 0
    pairs: int | None = None  # dpo-jsonl: preference pairs written (each from two records)
    tokens: dict[str, Any] | None = None  # --tokenizer: total, mean, max, histogram, cost per epoch


class Manifest(BaseModel):
    id: str | None = None  # the export's id in the database's lineage (`privacy-proxy exports list`)
    format: str
    content: ContentMode
    purpose: str | None = None
    created_at: datetime
    filters: Filters
    options: dict[str, Any]
    counts: Counts
    policy_versions: list[str]
    first_created_at: datetime | None = None
    last_created_at: datetime | None = None
    opted_out_subjects: int | None = None  # consent snapshot: subjects opted out of training at export time
    last_seq: int | None = None  # the last record read, in write order: `--since-last` resumes after it
    files: dict[str, str]  # path relative to the output directory -> sha256


def tally(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items()))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_card(manifest: Manifest) -> str:
    """A Hugging Face style README.md for the export."""
    counts = manifest.counts
    filters = manifest.filters.model_dump(exclude_defaults=True, mode="json")
    lines = [
        "---",
        "license: other  # the company's own conversations: internal use, under its data policy",
        "task_categories:",
        f"- {'text-generation' if manifest.format != 'dpo-jsonl' else 'reinforcement-learning'}",
        "tags:",
        "- conversational",
        "- privacy-proxy",
        f"- {manifest.content}",
        "size_categories:",
        f"- {_size(counts.exported)}",
        "configs:",
        "- config_name: default",
        "  data_files:",
        *[f"  - split: {split}\n    path: {_pattern(manifest, split)}" for split in sorted(counts.splits)],
        "---",
        "",
        "# Conversations exported by privacy-proxy",
        "",
        f"- format: `{manifest.format}`; exported {manifest.created_at.isoformat()}",
        f"- rows: {counts.exported} exported of {counts.matched} matched; "
        + ", ".join(f"{split} {n}" for split, n in sorted(counts.splits.items())),
        f"- skipped: {_pairs(counts.skipped) or 'none'}",
        f"- residual check: {manifest.options.get('residual_check')}; flagged rows: {counts.flagged}; "
        f"dropped rows: {counts.skipped.get('residual_pii', 0)}",
        f"- de-duplication: {manifest.options.get('dedupe')}; cross-split duplicates: {counts.cross_split_duplicates}",
        f"- date range: {_when(manifest.first_created_at)} to {_when(manifest.last_created_at)}",
        *_token_lines(counts.tokens),
        f"- filters: {_pairs(filters) or 'none (successful exchanges only)'}",
        f"- policy versions: {', '.join(manifest.policy_versions) or 'none'}",
        "- language: as the conversations were written (not detected)",
        "",
        "## Features",
        "",
        FEATURES.get(manifest.format, FEATURES["openai-jsonl"]),
        "",
        "## Personal data",
        "",
        CONTENT_TREATMENT[manifest.content],
        "Conversations of data subjects who opted out of training are never exported "
        f"(consent snapshot at export time: {_count(manifest.opted_out_subjects)} subjects opted out; "
        f"{counts.skipped.get('opted_out', 0)} of their records matched and were left out).",
        "",
        "## Access",
        "",
        ACCESS.format(content=manifest.content),
        "",
        "See `manifest.json` for every option and the sha256 of every file.",
        "",
    ]
    return "\n".join(lines)


FEATURES = {
    "openai-jsonl": "`messages`: list of `{role, content, tool_calls?, tool_call_id?, weight?}` (OpenAI chat "
    "fine-tuning); `tools`: list of function definitions. `<split>.ids`: the record id of each line.",
    "anthropic-jsonl": "`system`: string; `messages`: list of `{role, content: [text | tool_use | tool_result]}`; "
    "`tools`: list of `{name, description, input_schema}`. `<split>.ids`: the record id of each line.",
    "sharegpt": "`conversations`: list of `{from: human | gpt | function_call | observation, value}`; `system`; "
    "`tools` (a JSON string). `<split>.ids`: the record id of each line.",
    "parquet": "`id` (record id), `model`, `created_at`, `messages` (list of `{role, content, tool_calls, "
    "tool_call_id}`), `tools`, `metadata` (endpoint, upstream, team, decision, conversation, tags, "
    "policies, residual_pii). `tools` and tool-call `arguments` are JSON-typed columns: `datasets` loads them as "
    "objects.",
    "dpo-jsonl": "`prompt`, `chosen`, `rejected`: lists of chat messages (TRL's conversational preference "
    "format); `train.ids`: the chosen and the rejected record id of each line.",
}


def _token_lines(tokens: dict[str, Any] | None) -> list[str]:
    if not tokens:
        return []
    cost = tokens["cost_per_epoch"]
    lines = [
        f"- tokens ({tokens['tokenizer']}): {tokens['total']} in all, {tokens['mean']} per row on average, "
        f"{tokens['max']} at most; rows by length: {_pairs(tokens['histogram'])}",
    ]
    if cost is not None:
        lines.append(f"- estimated training cost: {cost} per epoch at {tokens['price_per_million']} per million tokens")
    return lines


def _size(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return name
    return "n>1M"


def _count(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def _pattern(manifest: Manifest, split: str) -> str:
    return f"data/{split}-*.parquet" if manifest.format == "parquet" else f"{split}.jsonl"


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{key}={_plain(value)}" for key, value in values.items())


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    return str(value)


def _when(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "-"
