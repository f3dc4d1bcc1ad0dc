"""`privacy-proxy policy replay`: a draft policy set over past recorded traffic, and what would change.

Each stored original (opened with the data key) goes through the live request's own scan
(`proxy.dry_run`, i.e. `proxy.scan.Scanner`) under the draft, as the recorded caller, a page of
requests at a time whose texts the detector reads together (`proxy.detection.gathered`); the draft's
decision is compared with the one recorded, and, per entity type, the strongest action recorded
with the draft's. Rows stream from the database (`yield_per`) and findings are merge-joined in
the same order, so memory does not grow with the number of requests. Only counts, request ids
and a few redacted examples come out; the run is one `read_original` audit row.
"""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import islice
from typing import IO, Any

from sqlalchemy import ColumnElement, Engine, and_, select

from proxy.detection import DetectionEngine
from proxy.detection.gathered import Detects, gathered
from proxy.dialects import DIALECTS
from proxy.dry_run import dry_run
from proxy.exchange import Finding, Slot
from proxy.policy.bundle import PolicySet
from proxy.policy.schema import STRENGTH, RequestContext
from proxy.scan import MODEL_PATH, Scan
from proxy.store.queries import as_stored, open_payload
from proxy.store.sealing import Sealer
from proxy.store.tables import findings, payloads, requests

BATCH = 500  # rows read from the database at a time
PAGE = 200  # requests scanned together: their texts go to the detector in one call
# In the server (the console's replay) the pool's processes serve live requests too: a small page
# keeps each of its jobs short, so a live request never waits long behind one.
PAGE_BESIDE_LIVE = 8
EXAMPLES_PER_CHANGE = 3
EXAMPLE_CHARS = 200
NONE = "none"  # no finding of that type was acted on
RANK: dict[str, int] = {NONE: -1, **{action: rank for action, rank in STRENGTH.items()}}


@dataclass(frozen=True)
class Window:
    """Which recorded requests to replay."""

    since: datetime | None = None
    until: datetime | None = None
    team: str | None = None


@dataclass
class ReplayReport:
    """What the draft would have changed. `changes[(old, new)]` counts requests by decision;
    `by_rule[(rule, entity, old_action, new_action)]` counts requests in which that entity type's
    strongest action changes (the rule is the draft's, or the recorded one when the draft has none)."""

    replayed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> requests not replayed
    changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_rule: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(n for (old, new), n in self.changes.items() if old != new)

    def as_dict(self) -> dict[str, Any]:
        return {
            "replayed": self.replayed,
            "changed": self.changed,
            "skipped": dict(self.skipped),
            "decisions": [{"from": o, "to": n, "requests": c} for (o, n), c in sorted(self.changes.items())],
            "rules": [
                {"rule": r, "entity_type": e, "from": o, "to": n, "requests": c}
                for (r, e, o, n), c in sorted(self.by_rule.items())
            ],
            "examples": [{"from": o, "to": n, "texts": t} for (o, n), t in sorted(self.examples.items())],
        }


@dataclass(frozen=True)
class _Row:
    id: str
    created_at: datetime
    context: RequestContext
    decision: str | None
    body: Any  # the original request, opened; None when it was not kept
    unopened: bool
    recorded: dict[str, tuple[str, str]]  # entity -> (strongest recorded action, its rule)


def replay(
    engine: Engine,
    sealer: Sealer,
    draft: PolicySet,
    detector: DetectionEngine,
    window: Window,
    ids: IO[str] | None = None,
    progress: Callable[[int], None] | None = None,
    page: int = PAGE,
) -> ReplayReport:
    """Replay every request in `window` under `draft`, `page` requests at a time; write one CSV
    line per changed request to `ids`; tell `progress` how many requests have been read so far."""
    report = ReplayReport()
    writer = csv.writer(ids) if ids is not None else None
    if writer is not None:
        writer.writerow(["request_id", "created_at", "team", "recorded", "draft", "rules"])
    loop = asyncio.new_event_loop()
    done = 0
    try:
        for rows in _pages(_rows(engine, sealer, window), page):
            runs = loop.run_until_complete(_scan_page(rows, draft, detector))
            for row, run in zip(rows, runs, strict=True):
                done += 1
                if progress is not None:
                    progress(done)
                _count(report, row, run, writer, lambda slots: loop.run_until_complete(_redacted(slots, detector)))
    finally:
        loop.close()
    return report


def _pages(rows: Iterator[_Row], size: int) -> Iterator[list[_Row]]:
    while page := list(islice(rows, size)):
        yield page


async def _scan_page(page: list[_Row], draft: PolicySet, detector: DetectionEngine) -> list[Scan | str]:
    """Each row's scan under the draft, or why it was not replayed; the page's texts are detected
    together (`gathered`), which gives the same findings as one row at a time."""
    reasons = [_unreplayable(row) for row in page]
    jobs = [partial(_dry_run, row, draft) for row, reason in zip(page, reasons, strict=True) if not reason]
    runs = iter(await gathered(detector, jobs))
    out: list[Scan | str] = []
    for reason in reasons:
        run = reason or next(runs)
        if isinstance(run, BaseException):
            if not isinstance(run, Exception):
                raise run
            run = "unreadable"  # a body its dialect no longer reads, or a failed detection; never its text
        out.append(run)
    return out


async def _dry_run(row: _Row, draft: PolicySet, detector: Detects) -> Scan:
    return await dry_run(row.body, draft, detector, row.context, raw_body=None)


def _count(
    report: ReplayReport,
    row: _Row,
    run: Scan | str,
    writer: Any,
    redacted: Callable[[list[Slot]], str],
) -> None:
    """Add one row's outcome to the report (and the CSV when its decision changes)."""
    if isinstance(run, str):
        report.skipped[run] += 1
        return
    report.replayed += 1
    rules = _compare(report, row, run)
    new = run.decision.kind
    report.changes[(row.decision or NONE, new)] += 1
    if row.decision != new:
        examples = report.examples.setdefault((row.decision or NONE, new), [])
        if len(examples) < EXAMPLES_PER_CHANGE:
            examples.append(redacted(run.slots))
        if writer is not None:
            team = row.context.team
            writer.writerow([row.id, row.created_at.isoformat(), team, row.decision, new, " ".join(rules)])


def _unreplayable(row: _Row) -> str:
    if row.unopened:
        return "sealed under a data key that is not configured"
    if row.body is None:
        return "original not kept (capture, erasure or a blocked request)"
    if row.context.endpoint not in DIALECTS:
        return "endpoint not replayable"
    return ""


def _compare(report: ReplayReport, row: _Row, run: Scan) -> list[str]:
    """Count each entity type whose strongest action changes; the rules involved, for the CSV."""
    draft: dict[str, tuple[str, str]] = {}
    for r in run.decision.resolutions:
        current = draft.get(r.finding.entity_type)
        if current is None or RANK[r.action] > RANK[current[0]]:
            draft[r.finding.entity_type] = (r.action, r.rule)
    block = run.decision.block
    if block is not None and block.entity_type:
        draft[block.entity_type] = ("block", block.rule)
    rules = []
    for entity in sorted(set(draft) | set(row.recorded)):
        old, old_rule = row.recorded.get(entity, (NONE, ""))
        new, new_rule = draft.get(entity, (NONE, ""))
        if old != new:
            rule = new_rule or old_rule
            report.by_rule[(rule, entity, old, new)] += 1
            rules.append(f"{rule}:{entity}")
    if block is not None and not block.entity_type and row.decision != "block":
        report.by_rule[(block.rule, "", row.decision or NONE, "block")] += 1
        rules.append(block.rule)
    return rules


async def _redacted(slots: list[Slot], detector: DetectionEngine) -> str:
    """An example with every kind of data the detector knows replaced by its type, shortened."""
    found = await detector.detect(slots, detector.supported_entities(), [])
    texts = [
        _without(slot.text, [f for f in found if f.slot == i])
        for i, slot in enumerate(slots)
        if slot.path != MODEL_PATH  # the model name is scanned too, but is no part of the example
    ]
    text = " | ".join(t for t in texts if t.strip())
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def _without(text: str, found: list[Finding]) -> str:
    for finding in sorted(found, key=lambda f: f.start, reverse=True):
        text = text[: finding.start] + f"<{finding.entity_type}>" + text[finding.end :]
    return text


def _conditions(engine: Engine, window: Window) -> list[ColumnElement[bool]]:
    r = requests.c
    conditions: list[ColumnElement[bool]] = []
    if window.since is not None:
        conditions.append(r.created_at >= as_stored(engine, window.since))
    if window.until is not None:
        conditions.append(r.created_at < as_stored(engine, window.until))
    if window.team is not None:
        conditions.append(r.team == window.team)
    return conditions


def _rows(engine: Engine, sealer: Sealer, window: Window) -> Iterator[_Row]:
    """Every request in the window, oldest first, with its original and its recorded actions."""
    original = payloads.alias("original")
    order = (requests.c.created_at, requests.c.id)
    query = (
        select(
            requests.c.id,
            requests.c.created_at,
            requests.c.team,
            requests.c.key_name,
            requests.c.upstream,
            requests.c.model,
            requests.c.endpoint,
            requests.c.decision,
            original.c.data,
            original.c.encoding,
            original.c.key_id,
        )
        .select_from(
            requests.outerjoin(original, and_(original.c.request_id == requests.c.id, original.c.kind == "original"))
        )
        .where(*_conditions(engine, window))
        .order_by(*order)
    )
    found = (
        select(findings.c.request_id, findings.c.entity_type, findings.c.action, findings.c.rule)
        .select_from(findings.join(requests, requests.c.id == findings.c.request_id))
        .where(findings.c.mode == "enforce", *_conditions(engine, window))
        .order_by(*order, findings.c.id)
    )
    with engine.connect() as rows_connection, engine.connect() as findings_connection:
        recorded = _grouped(findings_connection.execution_options(yield_per=BATCH).execute(found))
        pending = next(recorded, None)
        for values in rows_connection.execution_options(yield_per=BATCH).execute(query):
            id_, created_at, team, key, upstream, model, endpoint, decision, data, encoding, key_id = tuple(values)
            actions: dict[str, tuple[str, str]] = {}
            if pending is not None and pending[0] == id_:
                actions, pending = pending[1], next(recorded, None)
            body, unopened = None, False
            if data is not None:
                try:
                    body = open_payload(sealer, id_, "original", data, encoding, key_id)
                except Exception:  # a key that is not configured: skipped, never its text
                    unopened = True
            context = RequestContext(
                team=team or "default",
                key=key or "anonymous",
                upstream=upstream or "",
                model=model or "",
                endpoint=endpoint,
            )
            yield _Row(id_, created_at, context, decision, body, unopened, actions)


def _grouped(result: Any) -> Iterator[tuple[str, dict[str, tuple[str, str]]]]:
    """(request id, entity -> strongest recorded action and rule), one request at a time."""
    current: str | None = None
    actions: dict[str, tuple[str, str]] = {}
    for request_id, entity, action, rule in result:
        if request_id != current:
            if current is not None:
                yield current, actions
            current, actions = request_id, {}
        held = actions.get(entity)
        if held is None or RANK.get(action, 0) > RANK.get(held[0], 0):
            actions[entity] = (action, rule or "")
    if current is not None:
        yield current, actions
