"""The governance commands: `purge`, `erase`, `subjects`, `audit` and `keys rotate-data-key`.

Wiring only: each command opens the configured database and calls the module that does the
work. Whatever deletes or changes stored data leaves an audit row naming who ran it
(`cli:<os user>`). Heavy imports wait until a command runs, so `privacy-proxy --help` stays quick.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from proxy.cli_context import CliContext, config_option, guarded
from proxy.config import Config, format_duration

if TYPE_CHECKING:
    from sqlalchemy import Engine


@click.command()
@click.option("--dry-run", is_flag=True, help="Count what is past its retention; delete nothing.")
@config_option
def purge(dry_run: bool, config_path: Path | None) -> None:
    """Delete what is older than `retention` allows, a few hundred rows per transaction."""
    from proxy.governance.retention import PurgeRunning, run_purge

    with _open(config_path) as (config, engine):
        try:
            counts = run_purge(engine, config.retention, cli_actor(), dry_run=dry_run)
        except PurgeRunning as busy:
            raise click.ClickException(str(busy)) from None
        if not counts:
            click.echo("no retention is configured: everything is kept")
        verb = "would be deleted" if dry_run else "deleted"
        for data_class, count in counts.items():
            unit = "records" if data_class == "metadata" else "payloads"
            kept = format_duration(getattr(config.retention, data_class))
            click.echo(f"{data_class:<10} kept {kept:<5} {count} {unit} {verb}")


@click.command()
@click.option("--subject", help="A data subject, as sent in X-Proxy-Subject.")
@click.option("--value", help="A value the detector found (an e-mail address, a name, ...); '-' reads it from stdin.")
@click.option("--yes", is_flag=True, help="Really delete (without it: a dry run that only counts).")
@config_option
def erase(subject: str | None, value: str | None, yes: bool, config_path: Path | None) -> None:
    """Erase every payload naming a data subject or a value; a dry run unless --yes."""
    from proxy.governance.erasure import Target, run_erase
    from proxy.hashing import hasher_for
    from proxy.store.lineage import holding

    if (subject is None) == (value is None):
        raise click.UsageError("give exactly one of --subject or --value")
    if value == "-":  # keeps the value out of shell history and the process list
        value = sys.stdin.read().strip()
    with _open(config_path) as (config, engine):
        hasher = guarded(lambda: hasher_for(config))
        target = Target("subject", subject) if subject is not None else Target.value(str(value), hasher)
        held = holding(engine, subject=subject) if subject is not None else []  # before the subject is unlinked
        result = run_erase(engine, target, hasher, cli_actor(), dry_run=not yes)
        what = f"{result.requests} records name this {target.kind}"
        for export in held:
            click.echo(f"export {export['id']} at {export['out']} holds {export['held']} of this subject's records")
        if not yes:
            click.echo(f"dry run: {what}; {result.payloads} payloads and {result.findings} findings would be deleted")
            click.echo("run again with --yes to erase them")
            return
        click.echo(f"erased: {what}; deleted {result.payloads} payloads and {result.findings} findings")
        click.echo("their request rows remain (time, key, model, usage), marked erased" + _remains(target.kind))


def _remains(kind: str) -> str:
    return ", without subject, conversation or tags" if kind == "subject" else ""


@click.group()
def subjects() -> None:
    """Data subjects' choices (X-Proxy-Subject): training opt-outs."""


@subjects.command("opt-out")
@click.argument("subject")
@config_option
def subjects_opt_out(subject: str, config_path: Path | None) -> None:
    """Leave this subject's requests out of training exports."""
    _set_opt_out(subject, True, config_path)


@subjects.command("opt-in")
@click.argument("subject")
@config_option
def subjects_opt_in(subject: str, config_path: Path | None) -> None:
    """Let this subject's requests into training exports again."""
    _set_opt_out(subject, False, config_path)


def _set_opt_out(subject: str, opted_out: bool, config_path: Path | None) -> None:
    from proxy.governance.consent import set_training_opt_out
    from proxy.hashing import hasher_for

    with _open(config_path) as (config, engine):
        hasher = guarded(lambda: hasher_for(config))
        set_training_opt_out(engine, subject, opted_out, actor=cli_actor(), hasher=hasher)
        click.echo(f"{'opted out of' if opted_out else 'opted in to'} training: {subject}")


@subjects.command("list")
@config_option
def subjects_list(config_path: Path | None) -> None:
    """Every subject with a recorded choice."""
    from proxy.governance.consent import list_subjects

    with _open(config_path) as (_, engine):
        for choice in list_subjects(engine):
            state = "opted-out" if choice.training_opt_out else "opted-in"
            click.echo(f"{choice.subject}\t{state}\t{choice.updated_at.isoformat()}")


@click.group()
def audit() -> None:
    """The audit trail: exports, erasures, purges, opt-outs, key rotations."""


@audit.command("list")
@click.option("--action", help="Only this action (erase, purge, export, subject_opt_out, ...).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Newest rows to show.")
@config_option
def audit_list(action: str | None, limit: int, config_path: Path | None) -> None:
    """The newest audit rows first: id, time, who, what, target and details."""
    from proxy.store.audit import audit_rows

    with _open(config_path) as (_, engine):
        for row in audit_rows(engine, action=action, limit=limit):
            fields = [row["id"], row["at"].isoformat(), row["actor"], row["action"], row["target"] or "-"]
            click.echo("\t".join(map(str, fields)) + "\t" + json.dumps(row["details"], sort_keys=True))


@click.command("rotate-data-key")
@config_option
def rotate_data_key(config_path: Path | None) -> None:
    """Re-seal stored originals under the first key in storage.data_keys (or a SQLite database's
    data.key when none is configured); safe to stop and re-run."""
    from proxy.governance.rotation import run_rotation
    from proxy.store.sealing import sealer_for

    with _open(config_path) as (config, engine):
        sealer = guarded(lambda: sealer_for(config))
        result = run_rotation(engine, sealer, sealer.key_ids, cli_actor())
        click.echo(
            f"sealed under {result.key_id}: {result.resealed} from older keys, {result.sealed} unencrypted before"
        )
        for key_id, count in result.unreadable.items():
            click.echo(f"warning: {count} payloads are sealed under {key_id}, which is not configured", err=True)
        if not result.unreadable:
            click.echo("nothing is left under older keys: they can be removed from storage.data_keys")


#: registered on the `privacy-proxy` group in proxy/cli.py
COMMANDS = [purge, erase, subjects, audit]


@contextmanager
def _open(config_path: Path | None) -> Iterator[tuple[Config, Engine]]:
    """The config and its database."""
    context = CliContext(config_path)
    with context.database() as engine:
        yield context.config, engine


def cli_actor() -> str:
    """Who ran the command, for the audit trail."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a uid without a name (a bare container)
        return f"cli:uid-{os.getuid()}"
