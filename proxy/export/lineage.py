"""`privacy-proxy exports list | which`: the datasets written, and which of them hold a record or
a data subject's records, from the lineage the database keeps (so erasure can be followed into
datasets already on disk)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from proxy.cli_context import CliContext, config_option


@click.group()
def exports() -> None:
    """Datasets written by `export`, and which records each holds."""


@exports.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@config_option
def exports_list(as_json: bool, config_path: Path | None) -> None:
    """Every export, newest first."""
    from proxy.store.lineage import list_exports

    with CliContext(config_path).database() as engine:
        _show(list_exports(engine), as_json)


@exports.command("which")
@click.argument("request_id", required=False)
@click.option("--subject", help="A data subject, as sent in X-Proxy-Subject.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@config_option
def exports_which(request_id: str | None, subject: str | None, as_json: bool, config_path: Path | None) -> None:
    """The exports holding a request (by id) or any request of a data subject."""
    from proxy.store.lineage import holding

    if (request_id is None) == (subject is None):
        raise click.UsageError("give exactly one of REQUEST_ID or --subject")
    with CliContext(config_path).database() as engine:
        found = holding(engine, request_id=request_id, subject=subject)
    if not found and not as_json:
        click.echo("no export holds it")
    _show(found, as_json)


def _show(rows: list[dict[str, Any]], as_json: bool) -> None:
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, default=str, sort_keys=True))
            continue
        held = f"  holds {row['held']}" if "held" in row else ""
        state = "" if row["complete"] else "  (unfinished)"
        click.echo(
            f"{row['id']}  {row['created_at']:%Y-%m-%d %H:%M}  {row['format']:<15} {row['content']:<9} "
            f"{row['rows']:>8} rows  {row['out']}{held}{state}"
        )
