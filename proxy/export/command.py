"""`privacy-proxy export`: stored conversations as a training dataset, with a manifest."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError
from sqlalchemy import Engine

from proxy.cli_context import CliContext, config_option, guarded
from proxy.clock import as_utc
from proxy.export.residual import DEFAULT_ENTITIES, ResidualCheck
from proxy.export.run import FORMATS, ExportOptions, Progress, resume_after, run
from proxy.export.source import Filters, count
from proxy.export.tokens import O200K_BASE
from proxy.store.sealing import sealer_for

if TYPE_CHECKING:  # spaCy loads only when the residual check runs
    from proxy.detection import DetectionEngine


def _many(name: str, help_: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(name, multiple=True, help=help_ + " Repeat for more.")


def _when(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00:00+00:00") from None
    # in UTC: SQLite keeps times without their zone, so every time compared must be in the same one
    return as_utc(moment)


def _shares(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, float]:
    shares = {}
    for value in values:
        name, _, share = value.partition("=")
        try:
            shares[name.strip()] = float(share)
        except ValueError:
            raise click.BadParameter(f"{value!r}: use NAME=SHARE, e.g. validation=0.1") from None
    return shares


def _tokenizer(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | Path | None:
    if value is None or value == O200K_BASE:
        return value
    path = Path(value)
    if not path.is_file():
        raise click.BadParameter(f"{O200K_BASE}, or the path of a tokenizer.json file; there is no file {value}")
    return path


@click.command("export")
@click.option("--format", "format_", type=click.Choice(FORMATS), required=True, help="Dataset format.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output directory (new or empty).")
@click.option(
    "--content",
    type=click.Choice(["forwarded", "surrogate", "original"]),
    default="forwarded",
    show_default=True,
    help="forwarded: what the vendor saw; surrogate: placeholders become fakes; original: needs --include-original.",
)
@click.option("--include-original", is_flag=True, help="Required with --content original.")
@click.option("--purpose", help="Why originals are exported (required with --content original; audited).")
@click.option("--since", callback=_when, help="Records created after this time (ISO 8601, UTC if no zone).")
@click.option("--until", callback=_when, help="Records created at or before this time.")
@click.option(
    "--since-last",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Only records written after those the export in this directory read (incremental).",
)
@_many("--team", "Only this team.")
@_many("--key", "Only this proxy key name.")
@_many("--upstream", "Only this upstream.")
@_many("--model", "Only this model.")
@_many("--decision", "Only this decision (allow, transform, block).")
@click.option("--status", multiple=True, default=["ok"], show_default=True, help="Record status. Repeat for more.")
@_many("--tag", "Only records carrying this X-Proxy-Tags tag (all given tags must be present).")
@_many("--policy", "Only records a policy applied to: ID or ID@VERSION.")
@click.option(
    "--dedupe",
    type=click.Choice(["near", "exact", "off"]),
    default="near",
    show_default=True,
    help="Drop duplicate conversations: exact copies, or also near copies (MinHash).",
)
@click.option("--limit", type=click.IntRange(1), help="Stop after writing this many rows.")
@click.option("--sample", type=click.IntRange(1), help="A random sample of this many matched records.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample.")
@click.option("--stratify", type=click.Choice(["team", "model"]), help="--sample keeps each team's (model's) share.")
@click.option("--min-score", type=float, help="Only records whose mean feedback score is at least this.")
@_many("--label", "Only records with feedback carrying this label.")
@_many("--finish-reason", "Only answers that ended so: stop, length, tool_calls, content_filter.")
@click.option("--streamed/--not-streamed", default=None, help="Only streamed, or only non-streamed, answers.")
@click.option(
    "--tokens", "count_tokens", is_flag=True, help="Count tokens (o200k_base unless --tokenizer names another)."
)
@click.option(
    "--tokenizer",
    callback=_tokenizer,
    metavar="o200k_base|FILE",
    help="Count tokens with OpenAI's o200k_base (shipped, never downloaded) or a local tokenizer.json: "
    "totals, a length histogram and a cost estimate in the manifest.",
)
@click.option("--max-tokens", type=click.IntRange(1), help="Skip rows with more tokens (counts with o200k_base).")
@click.option(
    "--price-per-million", type=click.FloatRange(0), help="Training price per million tokens: a cost estimate."
)
@click.option("--max-latency-ms", type=click.FloatRange(0), help="Only exchanges that took at most this long.")
@click.option("--one-per-conversation", is_flag=True, help="Keep only the last turn of a resent history.")
@click.option("--split", multiple=True, callback=_shares, help="NAME=SHARE, e.g. validation=0.1; the rest is train.")
@click.option("--min-length", type=click.IntRange(0), help="Skip conversations with fewer characters of text.")
@click.option("--max-length", type=click.IntRange(0), help="Skip conversations with more characters of text.")
@click.option(
    "--weights",
    type=click.Choice(["none", "last", "all"]),
    default="none",
    show_default=True,
    help="openai-jsonl: last = train on the final assistant turn only; all = weight 1 on every assistant turn.",
)
@click.option(
    "--arguments",
    type=click.Choice(["string", "object"]),
    default="string",
    show_default=True,
    help="openai-jsonl tool-call arguments: JSON strings (OpenAI) or objects (Hugging Face chat templates).",
)
@click.option(
    "--residual-check",
    type=click.Choice(["off", "flag", "drop"]),
    default="off",
    show_default=True,
    help="Run the detector over what is written; flag or drop rows still holding personal data.",
)
@click.option(
    "--residual-entities",
    default=",".join(DEFAULT_ENTITIES),
    show_default=True,
    help="Entity types the residual check looks for.",
)
@click.option(
    "--rows-per-shard", type=click.IntRange(1), default=100_000, show_default=True, help="Rows per Parquet file."
)
@config_option
def export_command(
    format_: str,
    out: Path,
    content: str,
    include_original: bool,
    purpose: str | None,
    since: datetime | None,
    until: datetime | None,
    since_last: Path | None,
    team: tuple[str, ...],
    key: tuple[str, ...],
    upstream: tuple[str, ...],
    model: tuple[str, ...],
    decision: tuple[str, ...],
    status: tuple[str, ...],
    tag: tuple[str, ...],
    policy: tuple[str, ...],
    dedupe: str,
    limit: int | None,
    sample: int | None,
    seed: int,
    stratify: str | None,
    min_score: float | None,
    label: tuple[str, ...],
    finish_reason: tuple[str, ...],
    streamed: bool | None,
    count_tokens: bool,
    tokenizer: str | Path | None,
    max_tokens: int | None,
    price_per_million: float | None,
    max_latency_ms: float | None,
    one_per_conversation: bool,
    split: dict[str, float],
    min_length: int | None,
    max_length: int | None,
    weights: str,
    arguments: str,
    residual_check: str,
    residual_entities: str,
    rows_per_shard: int,
    config_path: Path | None,
) -> None:
    """Export stored conversations as a training dataset, with manifest.json and a dataset card."""
    if content == "original" and not include_original:
        raise click.UsageError("--content original exports raw personal data: add --include-original and --purpose")
    try:
        after_seq = resume_after(since_last) if since_last else None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    filters = Filters(
        since=since,
        until=until,
        after_seq=after_seq,
        streamed=streamed,
        max_latency_ms=max_latency_ms,
        min_score=min_score,
        labels=label,
        finish_reasons=finish_reason,
        teams=team,
        keys=key,
        upstreams=upstream,
        models=model,
        decisions=decision,
        statuses=status,
        tags=tag,
        policies=policy,
    )
    try:
        options = ExportOptions.model_validate(
            {
                "format": format_,
                "out": out,
                "filters": filters,
                "content": content,
                "purpose": purpose,
                "residual_check": residual_check,
                "residual_entities": tuple(e.strip() for e in residual_entities.split(",") if e.strip()),
                "dedupe": dedupe,
                "limit": limit,
                "sample": sample,
                "seed": seed,
                "stratify": stratify,
                "tokenizer": tokenizer or (O200K_BASE if count_tokens else None),
                "max_tokens": max_tokens,
                "price_per_million": price_per_million,
                "one_per_conversation": one_per_conversation,
                "split": split,
                "min_length": min_length,
                "max_length": max_length,
                "weights": weights,
                "arguments": arguments,
                "rows_per_shard": rows_per_shard,
            }
        )
    except ValidationError as exc:
        raise click.UsageError("; ".join(error["msg"] for error in exc.errors())) from None
    cli = CliContext(config_path)
    residual = _residual(cli.detector, options) if options.residual_check != "off" else None
    sealer = guarded(lambda: sealer_for(cli.config))
    with cli.database() as engine:
        try:
            with _progress(engine, filters, options.one_per_conversation) as progress:
                manifest = run(engine, sealer, options, residual, progress)
        except (FileExistsError, ValueError) as exc:  # a used output directory, an unreadable or tampered tokenizer
            raise click.ClickException(str(exc)) from None
    counts = manifest.counts
    skipped = ", ".join(f"{reason} {n}" for reason, n in counts.skipped.items()) or "none"
    click.echo(f"exported {counts.exported} of {counts.matched} to {out} (skipped: {skipped})")


def _residual(detector: DetectionEngine, options: ExportOptions) -> ResidualCheck:
    try:
        return ResidualCheck(detector, options.residual_entities, options.residual_min_score)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@contextmanager
def _progress(engine: Engine, filters: Filters, two_passes: bool) -> Iterator[Progress | None]:
    """A progress bar on stderr when a person is watching; nothing at all in scripts."""
    if not sys.stderr.isatty():
        yield None
        return
    total = count(engine, filters)
    label = "exporting (after a first pass over the history)" if two_passes else "exporting"
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update
