"""`privacy-proxy eval`: run the labelled set through the real pipeline and print how it did.

Each case goes through the live request's own scan (`proxy.dry_run`, `proxy.scan`), with the
configured policies and hash key, as the team given by `--team`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from proxy.cli_context import CliContext, config_option
from proxy.detection import DetectionEngine
from proxy.dry_run import dry_run
from proxy.evaluation.cases import SEALED, SETS, Case, load_set
from proxy.evaluation.score import Report, Tally, score_case
from proxy.hashing import Hasher
from proxy.policy.bundle import PolicySet, detectors_of
from proxy.policy.schema import Detector, Policy, RequestContext, Rule, Settings


def sample(cases: list[Case], limit: int | None, category: str | None) -> list[Case]:
    """The cases to run: one category, and/or the first `limit` taken in turn from each category,
    so a small smoke run still covers every kind of prompt."""
    chosen = [c for c in cases if category is None or c.category == category]
    if limit is None or limit >= len(chosen):
        return chosen
    queues: dict[str, list[Case]] = {}
    for case in chosen:
        queues.setdefault(case.category, []).append(case)
    picked: list[Case] = []
    while len(picked) < limit:
        for queue in queues.values():
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return picked


async def evaluate(
    cases: list[Case],
    policy_set: PolicySet,
    detector: DetectionEngine,
    context: RequestContext,
    policy_id: str | None,
    hasher: Hasher | None = None,
) -> Report:
    report = Report()
    for case in cases:
        run = await dry_run(case.body, policy_set, detector, context, policy_id=policy_id, hasher=hasher)
        report.add(score_case(case, run), run)
    return report


#: the lowest threshold a shipped rule uses (phone numbers without a nearby "phone" score 0.4)
DETECTION_ONLY_MIN_SCORE = 0.4
#: what the NER model and generic patterns see, personal or not: any date, nationality, organisation,
#: place, URL or UUID. The personal kinds are types of their own (DATE_OF_BIRTH, RESIDENCE, POSTCODE,
#: STREET_ADDRESS, PERSONAL_URL), so acting on these would only measure how much harmless text changes.
GENERIC_TYPES = frozenset({"DATE_TIME", "NRP", "ORGANIZATION", "LOCATION", "URL", "UUID"})


def detection_only_policies(entities: set[str], detectors: list[Detector] | None = None) -> PolicySet:
    """A policy that pseudonymizes every personal or secret entity type the detector knows (and
    the configured policies' own detectors find) and blocks nothing: what detection alone finds,
    with no block hiding a miss."""
    own = list({d.entity: d for d in detectors or []}.values())  # inheriting policies repeat their parent's
    known = (entities | {d.entity for d in own}) - GENERIC_TYPES
    rule = Rule(id="everything", detect=sorted(known), action="pseudonymize")
    settings = Settings(min_score=DETECTION_ONLY_MIN_SCORE)
    return PolicySet([Policy(id="detection-only", settings=settings, rules=[rule], detectors=own)])


def default_sets() -> list[str]:
    """Every set present in the package but the sealed ones, which are scored only when named."""
    return [name for name, path in SETS.items() if path.exists() and name not in SEALED]


@click.command("eval")
@click.option("--policies", "path", type=click.Path(path_type=Path), help="Policy directory (default from config).")
@click.option("--policy", "policy_id", help="Use only this policy (by id), as if it alone applied.")
@click.option(
    "--detection-only",
    is_flag=True,
    help="Measure detection alone: pseudonymize every personal or secret type the proxy knows, block nothing.",
)
@click.option("--team", default="default", show_default=True, help="Evaluate as a request from this team.")
@click.option(
    "--set",
    "set_names",
    type=click.Choice(list(SETS)),
    multiple=True,
    help="Score this set (repeatable; default every set but the sealed holdouts, scored only when named).",
)
@click.option("--limit", type=int, help="Run only this many cases of each set, taken in turn from each category.")
@click.option("--category", help="Run only the cases of this category.")
@click.option(
    "--cases",
    "cases_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Another generated set (JSON lines) in place of the generated one, e.g. a held-out seed.",
)
@click.option("--summary", is_flag=True, help="Print only the one-line totals of each set.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@click.option(
    "--show-misses", is_flag=True, help="Also list leaked gold values and false alarms (never the holdout's)."
)
@click.option("--check", is_flag=True, help="Exit 1 when a target is missed.")
@config_option
def eval_command(
    path: Path | None,
    policy_id: str | None,
    detection_only: bool,
    team: str,
    set_names: tuple[str, ...],
    limit: int | None,
    category: str | None,
    cases_path: Path | None,
    summary: bool,
    as_json: bool,
    show_misses: bool,
    check: bool,
    config_path: Path | None,
) -> None:
    """Score detection on the labelled sets, each on its own: leak rate per entity type and
    category, over-redaction, and the share of hard negatives left untouched."""
    cli = CliContext(config_path)
    if detection_only:
        configured = cli.policy_set(path)
        policy_set = detection_only_policies(cli.detector.supported_entities(), detectors_of(configured.policies))
    else:
        policy_set = cli.policy_set(path)
    if policy_id and policy_set.get(policy_id) is None:
        raise click.UsageError(f"--policy: no policy with id {policy_id!r}")
    context = RequestContext(team=team, model="gpt-4o", endpoint="openai-chat")
    hasher = cli.hasher() if config_path else None
    reports: dict[str, tuple[Report, int]] = {}
    for name in set_names or default_sets():
        source = cases_path if cases_path and name == "generated" else SETS[name]
        if not source.exists():
            raise click.UsageError(f"--set {name}: {source} does not exist")
        labelled = load_set(source)
        cases = sample(labelled, limit, category)
        report = asyncio.run(evaluate(cases, policy_set, cli.detector, context, policy_id, hasher))
        reports[name] = (report, len(labelled))
    mode = "detection only" if detection_only else "policies"
    if as_json:
        payload = {"mode": mode, "sets": {name: as_dict(r, n) for name, (r, n) in reports.items()}}
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(render_sets(reports, mode, summary))
    if show_misses:
        for name, (report, _) in reports.items():
            shown = "(the holdout's misses are never listed)" if name in SEALED else render_misses(report)
            click.echo(f"\n== {name}: misses ==\n{shown}")
    if check and not all(met for report, _ in reports.values() for _, _, met in report.targets().values()):
        sys.exit(1)


def _tally(t: Tally) -> dict[str, Any]:
    return {
        "cases": t.cases,
        "spans": t.spans,
        "leaked": t.leaked,
        "leak_rate": t.leak_rate,
        "over_redaction": t.over_redaction,
        "negatives": t.negatives,
        "negatives_untouched": t.negatives_untouched,
    }


def as_dict(report: Report, cases_in_set: int) -> dict[str, Any]:
    return {
        "cases_in_set": cases_in_set,
        "total": _tally(report.total),
        "structured": _tally(report.structured),
        "free_text": _tally(report.free_text),
        "by_type": {k: _tally(v) for k, v in sorted(report.by_type.items())},
        "by_category": {k: _tally(v) for k, v in sorted(report.by_category.items())},
        "by_locale": {k: _tally(v) for k, v in sorted(report.by_locale.items())},
        "targets": {k: {"measured": m, "target": t, "met": ok} for k, (m, t, ok) in report.targets().items()},
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:5.1f}%"


def _table(title: str, rows: dict[str, Tally]) -> list[str]:
    header = f"{'cases':>6} {'values':>7} {'leaked':>7} {'leak':>7} {'over-red.':>10} {'neg. untouched':>15}"
    lines = [f"{title:<22} {header}"]
    for name, t in sorted(rows.items()):
        untouched = f"{_pct(t.negatives_untouched)} of {t.negatives}" if t.negatives else "-"
        lines.append(
            f"{name:<22} {t.cases:>6} {t.spans:>7} {t.leaked:>7} {_pct(t.leak_rate):>7} "
            f"{_pct(t.over_redaction):>10} {untouched:>15}"
        )
    return lines


def _targets_heading(cases: int, cases_in_set: int) -> str:
    """A slice has too few cases to judge a target by (one hard negative is a third of three): say so,
    so that a smoke run's MISSED is read for what it is."""
    if cases >= cases_in_set:
        return "targets (default policy):"
    return f"targets (default policy; judged on all {cases_in_set} cases, this slice of {cases} is only a smoke run):"


def render_sets(reports: dict[str, tuple[Report, int]], mode: str, summary: bool) -> str:
    """Each set's tables (unless `summary`), then one line of totals per set."""
    lines: list[str] = []
    if not summary:
        for name, (report, cases_in_set) in reports.items():
            lines += [f"== {name} ({mode}) ==", render(report, cases_in_set), ""]
    lines += _table(f"set ({mode})", {name: report.total for name, (report, _) in reports.items()})
    return "\n".join(lines)


def render(report: Report, cases_in_set: int) -> str:
    lines = _table("entity type", report.by_type) + [""]
    lines += _table("category", report.by_category) + [""]
    lines += _table("locale", report.by_locale) + [""]
    lines += _table("total", {"structured ids": report.structured, "names, addresses": report.free_text})
    lines += _table("", {"all": report.total})[1:] + ["", _targets_heading(report.total.cases, cases_in_set)]
    for name, (measured, target, met) in report.targets().items():
        relation = ">=" if name == "negatives_untouched" else "<="
        verdict = "n/a" if measured is None else "ok" if met else "MISSED"
        lines.append(f"  {name:<22} {_pct(measured):>7}  target {relation} {_pct(target).strip():<6} {verdict}")
    return "\n".join(lines)


def render_misses(report: Report) -> str:
    lines = ["", "leaked values:"]
    lines += [f"  {case:<20} {span.type:<16} {span.value!r}" for case, span in report.misses]
    lines += ["", "false alarms (altered text outside gold spans):"]
    lines += [f"  {case:<20} {what}" for case, what in report.false_alarms]
    return "\n".join(lines)
