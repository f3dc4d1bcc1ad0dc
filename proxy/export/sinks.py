"""Where exported rows go: one JSONL file per split, or sharded Parquet files per split.

Both write as rows arrive and keep at most one row group in memory. Every file is created
readable by its owner only (0600): an export holds conversations, and whoever runs it decides who
else may read it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from proxy.export.conversation import Conversation
from proxy.export.formats import JSONL_FORMATS, Weights, openai_row


@dataclass
class ExportRow:
    id: str
    model: str | None
    created_at: datetime
    conversation: Conversation
    metadata: dict[str, Any] = field(default_factory=dict)
    tokens: int | None = None  # with --tokenizer


def create(path: Path, binary: bool = False) -> IO[Any]:
    """A new file only its owner can read; refuses to overwrite one."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(descriptor, "wb") if binary else os.fdopen(descriptor, "w", encoding="utf-8")


class Sink(Protocol):
    def prepare(self, row: ExportRow) -> Any:
        """The row as this sink writes it; raises `Unreadable` when the format cannot express it."""

    def write(self, split: str, prepared: Any) -> None:
        """Add one prepared row to a split."""

    def close(self) -> list[Path]:
        """Finish every file; the paths written, relative to the output directory."""


class JsonlSink:
    """`<split>.jsonl`, one training example per line, in the chosen format, and beside it
    `<split>.ids`: line n is the record id of line n. The formats' schemas have no room for an id
    (OpenAI's fine-tuning checks refuse unknown keys), so lineage lives in the side file."""

    def __init__(self, out: Path, format_name: str, weights: Weights, arguments: str = "string") -> None:
        self.out = out
        self.render = JSONL_FORMATS[format_name]
        self.weights = weights
        # openai-jsonl with `object`: tool-call arguments as JSON objects, as Hugging Face chat
        # templates expect (given a string, they encode it a second time)
        self.objects = arguments == "object" and format_name == "openai-jsonl"
        self._files: dict[str, tuple[IO[Any], IO[Any]]] = {}

    def prepare(self, row: ExportRow) -> tuple[str, bytes]:
        rendered = self.render(row.conversation, self.weights)
        if self.objects:
            for message in rendered["messages"]:
                for call in message.get("tool_calls") or []:
                    call["function"]["arguments"] = _object(call["function"]["arguments"])
        return row.id, orjson.dumps(rendered)

    def write(self, split: str, prepared: tuple[str, bytes]) -> None:
        if split not in self._files:
            self._files[split] = (create(self.out / f"{split}.jsonl", binary=True), create(self.out / f"{split}.ids"))
        lines, ids = self._files[split]
        lines.write(prepared[1] + b"\n")
        ids.write(prepared[0] + "\n")

    def close(self) -> list[Path]:
        for lines, ids in self._files.values():
            lines.close()
            ids.close()
        return [Path(f"{split}.{kind}") for split in sorted(self._files) for kind in ("jsonl", "ids")]


def _call(json_type: pa.DataType) -> pa.DataType:
    return pa.struct(
        [
            ("id", pa.string()),
            ("type", pa.string()),
            ("function", pa.struct([("name", pa.string()), ("arguments", json_type)])),
        ]
    )


def _message(json_type: pa.DataType) -> pa.DataType:
    return pa.struct(
        [
            ("role", pa.string()),
            ("content", pa.string()),
            ("tool_calls", pa.list_(_call(json_type))),
            ("tool_call_id", pa.string()),
        ]
    )


_METADATA = pa.struct(
    [
        ("endpoint", pa.string()),
        ("upstream", pa.string()),
        ("team", pa.string()),
        ("decision", pa.string()),
        ("conversation", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("policies", pa.list_(pa.string())),
        ("residual_pii", pa.list_(pa.string())),
    ]
)


def _schema(json_type: pa.DataType) -> pa.Schema:
    """Tool-call `arguments` and `tools` differ in shape from row to row, so no column type fits
    them; they are JSON text, typed `json_type`."""
    return pa.schema(
        [
            ("id", pa.string()),
            ("model", pa.string()),
            ("created_at", pa.timestamp("us", tz="UTC")),
            ("messages", pa.list_(_message(json_type))),
            ("tools", json_type),
            ("metadata", _METADATA),
            ("num_tokens", pa.int32()),  # with --tokenizer, else null
        ]
    )


# Written with Arrow's JSON extension type, which Parquet stores as its JSON logical type: Hugging
# Face `datasets` reads such columns as objects (its `Json` feature), so chat templates get `tools`
# and `arguments` as data, not strings they would encode a second time. Rows are built as plain
# strings (`_TEXT`; pyarrow builds no extension type from Python objects) and cast.
SCHEMA = _schema(pa.json_(pa.string()))
_TEXT = _schema(pa.string())


class ParquetSink:
    """Hugging Face layout: `data/<split>-00000-of-00002.parquet`, `rows_per_shard` rows per file.

    The number of shards is known only at the end, so shards are written under a temporary name
    and renamed on close."""

    def __init__(self, out: Path, rows_per_shard: int, row_group: int = 1000) -> None:
        self.data = out / "data"
        self.data.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.rows_per_shard = rows_per_shard
        self.row_group = row_group
        self._shards: dict[str, list[Path]] = {}
        self._writers: dict[str, tuple[pq.ParquetWriter, int]] = {}
        self._buffers: dict[str, list[dict[str, Any]]] = {}

    def prepare(self, row: ExportRow) -> dict[str, Any]:
        return _record(row)

    def write(self, split: str, record: dict[str, Any]) -> None:
        buffer = self._buffers.setdefault(split, [])
        buffer.append(record)
        if len(buffer) >= self.row_group:
            self._flush(split)

    def _flush(self, split: str) -> None:
        rows = self._buffers.pop(split, [])
        while rows:
            writer, written = self._writer(split)
            room = self.rows_per_shard - written
            writer.write_table(pa.Table.from_pylist(rows[:room], schema=_TEXT).cast(SCHEMA))
            self._writers[split] = (writer, written + len(rows[:room]))
            rows = rows[room:]

    def _writer(self, split: str) -> tuple[pq.ParquetWriter, int]:
        current = self._writers.get(split)
        if current is not None and current[1] < self.rows_per_shard:
            return current
        if current is not None:
            current[0].close()
        shards = self._shards.setdefault(split, [])
        shards.append(self.data / f"{split}-{len(shards):05d}.parquet.partial")
        create(shards[-1], binary=True).close()  # 0600 first: pyarrow keeps the mode when it truncates
        self._writers[split] = (pq.ParquetWriter(shards[-1], SCHEMA, compression="zstd"), 0)
        return self._writers[split]

    def close(self) -> list[Path]:
        for split in list(self._buffers):
            self._flush(split)
        for writer, _ in self._writers.values():
            writer.close()
        names = []
        for split, shards in sorted(self._shards.items()):
            for index, partial in enumerate(shards):
                final = self.data / f"{split}-{index:05d}-of-{len(shards):05d}.parquet"
                partial.rename(final)
                names.append(final.relative_to(self.data.parent))
        return names


def _object(arguments: str) -> Any:
    """Arguments as data; a document that is not JSON stays the string it was."""
    try:
        return orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments


def _record(row: ExportRow) -> dict[str, Any]:
    rendered = openai_row(row.conversation)
    messages = [
        {
            "role": m["role"],
            "content": m["content"],
            "tool_calls": m.get("tool_calls") or [],
            "tool_call_id": m.get("tool_call_id"),
        }
        for m in rendered["messages"]
    ]
    tools = orjson.dumps(rendered["tools"]).decode() if "tools" in rendered else None
    return {
        "id": row.id,
        "model": row.model,
        "created_at": row.created_at,
        "messages": messages,
        "tools": tools,
        "metadata": row.metadata,
        "num_tokens": row.tokens,
    }
