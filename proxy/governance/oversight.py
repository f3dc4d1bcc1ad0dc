"""The compliance officer's commands: `report` (audit answers without SQL) and `policy replay`
(a draft over past traffic).

Wiring only: each command opens the configured database and calls the module that does the work.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click

from proxy.cli_context import CliContext, config_option, guarded
from proxy.clock import as_utc
from proxy.governance.command import cli_actor

_DURATION = re.compile(r"(\d+)([mhdw])")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def when(_ctx: click.Context | None, _param: click.Parameter | None, value: str | None) -> datetime | None:
    """`7d`, `12h` (that long ago) or an ISO 8601 date or time (UTC when it names no zone)."""
    if value is None:
        return None
    match = _DURATION.fullmatch(value.strip())
    if match:
        return datetime.now(UTC) - timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise click.BadParameter("use a span such as 7d or 12h, or ISO 8601 such as 2026-01-31") from None


@click.command("replay")
@click.argument("draft", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--since", callback=when, default="7d", show_default=True, help="From (7d, 12h, or ISO 8601).")
@click.option("--until", callback=when, help="Up to, not including (7d, 12h, or ISO 8601).")
@click.option("--team", help="Only this team's requests.")
@click.option("--csv", "csv_file", type=click.File("w"), help="Write the ids of requests that would change here.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--processes",
    type=click.IntRange(min=0),
    help="Detection processes (default: detection.processes, else one per CPU core; 0: this process only).",
)
@config_option
def replay_command(
    draft: Path,
    since: datetime | None,
    until: datetime | None,
    team: str | None,
    csv_file: IO[str] | None,
    as_json: bool,
    processes: int | None,
    config_path: Path | None,
) -> None:
    """Run the draft policy set in DRAFT over stored originals and report what would change.

    Reads original text (opened with the data key): the run is recorded as a read of originals."""
    from proxy.governance.replay import Window, replay
    from proxy.store.audit import record_audit
    from proxy.store.sealing import sealer_for

    context = CliContext(config_path)
    sealer = guarded(lambda: sealer_for(context.config))
    window = Window(since, until, team)
    with context.pooled_detector(processes) as detector, context.database() as engine:
        policy_set = context.policy_set(draft)
        report = replay(engine, sealer, policy_set, detector, window, csv_file)
        record_audit(
            engine,
            actor=cli_actor(),
            action="read_original",
            target=f"policy replay {draft}",
            purpose="policy replay",
            draft_digest=policy_set.digest,
            since=since,
            until=until,
            team=team,
            replayed=report.replayed,
            changed=report.changed,
        )
    if as_json:
        click.echo(json.dumps({"draft": [p.label for p in policy_set.policies], **report.as_dict()}, indent=2))
        return
    click.echo(_text(report.as_dict(), [p.label for p in policy_set.policies]))


def _text(report: dict[str, Any], draft: list[str]) -> str:
    lines = [f"draft: {', '.join(draft)}", f"replayed {report['replayed']} requests; {report['changed']} would change"]
    lines += [f"  not replayed: {n} ({reason})" for reason, n in sorted(report["skipped"].items())]
    lines.append("decisions (recorded -> draft):")
    lines += [f"  {d['from']:>9} -> {d['to']:<9} {d['requests']}" for d in report["decisions"] if d["from"] != d["to"]]
    lines.append("by rule and entity type (strongest action, recorded -> draft):")
    for r in report["rules"]:
        what = f"{r['rule'] or '-':<24} {r['entity_type'] or '(request)':<20}"
        lines.append(f"  {what} {r['from']:>12} -> {r['to']:<12} {r['requests']}")
    lines.append("examples (every kind of data the detector knows replaced by its type):")
    for example in report["examples"]:
        lines += [f"  {example['from']} -> {example['to']}: {text}" for text in example["texts"]]
    return "\n".join(lines)


@click.command("report")
@click.option("--since", callback=when, help="From (7d, 12h, or ISO 8601).")
@click.option("--until", callback=when, help="Up to, not including (7d, 12h, or ISO 8601).")
@click.option("--team", help="Only this team's requests.")
@click.option("--key", help="Only this proxy key's requests.")
@click.option("--model", help="Only requests for this model.")
@click.option("--entity", help="Only requests with a finding of this entity type (US_SSN, PERSON, ...).")
@click.option("--rule", help="Only requests a rule acted on: `policy/rule` or `rule`.")
@click.option("--policy", help="Only requests under this policy: `id` or `id@version`.")
@click.option("--decision", type=click.Choice(["allow", "transform", "block"]), help="Only this decision.")
@click.option(
    "--monitor-decision", type=click.Choice(["allow", "transform", "block"]), help="Only this monitor outcome."
)
@click.option("--status", help="Only this status (ok, blocked, error, ...).")
@click.option("--format", "format_", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--limit", type=int, default=50, show_default=True, help="Requests listed in a table (csv, json: all).")
@config_option
def report_command(format_: str, limit: int, config_path: Path | None, **filters: Any) -> None:
    """Which requests had what, and what happened to them: counts per decision, team, entity
    type and rule, then the requests. Never a value."""
    from proxy.store.queries import RequestFilter
    from proxy.store.report import counts, csv_lines, report_rows

    where = RequestFilter(**{name: value for name, value in filters.items() if value is not None})
    context = CliContext(config_path)
    with context.database() as engine:
        if format_ == "csv":
            for line in csv_lines(report_rows(engine, where)):
                click.echo(line, nl=False)
            return
        summary = counts(engine, where)
        if format_ == "json":
            rows = list(report_rows(engine, where))
            click.echo(json.dumps({"counts": summary, "requests": rows}, indent=2, default=str))
            return
        click.echo(_report_table(summary, list(report_rows(engine, where, limit))))


def _report_table(summary: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    lines = [f"{summary['requests']} requests"]
    lines.append("decision   monitor    requests")
    lines += [f"{d['decision']:<10} {d['monitor_decision']:<10} {d['requests']:>8}" for d in summary["decisions"]]
    lines.append("team                     requests  blocked")
    lines += [f"{t['team']:<24} {t['requests']:>8} {t['blocked']:>8}" for t in summary["teams"]]
    lines.append("entity type           mode      requests findings")
    lines += [
        f"{e['entity_type']:<21} {e['mode']:<9} {e['requests']:>8} {e['findings']:>8}" for e in summary["entities"]
    ]
    lines.append("rule                             action       mode      requests findings")
    lines += [
        f"{r['rule']:<32} {r['action']:<12} {r['mode']:<9} {r['requests']:>8} {r['findings']:>8}"
        for r in summary["rules"]
    ]
    lines.append(f"requests ({'first ' + str(len(rows)) if len(rows) < summary['requests'] else 'all'}, oldest first):")
    for row in rows:
        found = ",".join(row["entities"]) or "-"
        lines.append(
            f"{row['id']}  {row['created_at'][:19]}  {row['team'] or '-':<12} {row['decision'] or '-':<9} "
            f"monitor={row['monitor_decision'] or '-':<9} {row['status']:<8} {row['policies'] or '-'}  {found}"
        )
    return "\n".join(lines)


@click.command("show")
@click.argument("digest")
@config_option
def show_command(digest: str, config_path: Path | None) -> None:
    """Print the policy version or policy set stored under DIGEST (as a request records it in
    `policy_digest`, as `policy check` prints it; a unique prefix will do)."""
    from proxy.store.policy_history import find

    with CliContext(config_path).database() as engine:
        shown = find(engine, digest)
    if shown is None:
        raise click.ClickException(f"no policy version or policy set with digest {digest!r} (or more than one)")
    click.echo(f"# {shown.kind} {shown.digest}, first loaded {shown.first_loaded_at.isoformat()}")
    for label, text in shown.texts.items():
        click.echo(f"# --- {label}\n{text}")


@click.command("diff")
@click.argument("old")
@click.argument("new")
@config_option
def diff_command(old: str, new: str, config_path: Path | None) -> None:
    """What changed from digest OLD to digest NEW (two policy versions, or two policy sets)."""
    import difflib

    from proxy.store.policy_history import find

    with CliContext(config_path).database() as engine:
        shown = [find(engine, digest) for digest in (old, new)]
    for digest, found in zip((old, new), shown, strict=True):
        if found is None:
            raise click.ClickException(f"no policy version or policy set with digest {digest!r} (or more than one)")
    before, after = (_by_policy(s.texts) for s in shown if s is not None)
    for policy in sorted(set(before) | set(after)):
        (old_label, old_text), (new_label, new_text) = before.get(policy, ("", "")), after.get(policy, ("", ""))
        lines = difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            old_label or "(none)",
            new_label or "(none)",
        )
        click.echo("".join(lines), nl=False)


def _by_policy(texts: dict[str, str]) -> dict[str, tuple[str, str]]:
    """{policy id: (label, text)} from `find`'s "id@version (digest)" labels."""
    return {label.split("@", 1)[0]: (label, text) for label, text in texts.items()}


POLICY_COMMANDS = [replay_command, show_command, diff_command]
MAIN_COMMANDS = [report_command]
