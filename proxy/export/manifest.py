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
        f"- filters: {_pairs(filters) or 'none (successful exchanges only)'}",
        f"- policy versions: {', '.join(manifest.policy_versions) or 'none'}",
        "",
        "## Personal data",
        "",
        CONTENT_TREATMENT[manifest.content],
        "Conversations of data subjects who opted out of training are never exported.",
        "",
        "## Access",
        "",
        ACCESS.format(content=manifest.content),
        "",
        "See `manifest.json` for every option and the sha256 of every file.",
        "",
    ]
    return "\n".join(lines)


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
