"""`privacy-proxy policy check`: what the loader cannot see from one file at a time.

Detector examples are run through the real detector, regular expressions are probed for
catastrophic backtracking (a pattern that takes seconds on a long prompt is a denial of service),
expired exceptions and rules that can never decide are reported.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import regex

from proxy.detection import DetectionEngine
from proxy.exchange import Slot
from proxy.policy.bundle import PolicySet
from proxy.policy.loader import PolicyError, PolicyFile, Problem, load_policies, policy_files, read_policy_file
from proxy.policy.schema import STRENGTH, Detector, Policy, Rule

PROBE_SECONDS = 0.1
PROBE_LENGTH = 3000


@dataclass(frozen=True)
class KnownTeams:
    """The teams proxy keys name, and which key sources they were read from (`unread`: a source
    that could not be read, and why), so a warning built on them says what it rests on."""

    names: set[str]
    read: tuple[str, ...]
    unread: str = ""

    def sources(self) -> str:
        said = f"read: {', '.join(self.read)}"
        return f"{said}; not read: {self.unread}" if self.unread else said


@dataclass
class CheckReport:
    policy_set: PolicySet | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def check(
    directory: Path, detector: DetectionEngine, today: date | None = None, teams: KnownTeams | None = None
) -> CheckReport:
    """Every problem of the policies in `directory`; `teams` (the teams proxy keys name, when
    known) lets it warn about an `applies_to` team no request can come from."""
    try:
        policy_set = load_policies(directory, known_entities=detector.supported_entities())
    except PolicyError as exc:
        return CheckReport(None, exc.problems)
    report = CheckReport(policy_set)
    day = today or date.today()
    files = [read_policy_file(path) for path in policy_files(directory)]
    for file in files:
        report.errors += _slow_patterns(file)
        report.errors += _failing_examples(file, detector)
        report.warnings += _expired_exceptions(file, day)
        report.warnings += _shadowed_rules(file)
        report.warnings += _idle_messages(file)
        report.warnings += _retired_tests(file)
        report.warnings += _unknown_teams(file, teams)
    report.warnings += _shared_teams(files, policy_set)
    return report


def _idle_messages(file: PolicyFile) -> list[Problem]:
    """A `message:` is what a blocked client is told; on a rule that does not block nobody reads it."""
    return [
        file.problem(("rules", r, "message"), f"rule {rule.id!r} does not block, so its message is never shown")
        for r, rule in enumerate(file.policy.rules)
        if rule.message and rule.action != "block"
    ]


def _retired_tests(file: PolicyFile) -> list[Problem]:
    policy = file.policy
    if policy.status != "retired" or not policy.tests:
        return []
    return [file.problem(("tests",), f"policy {policy.id!r} is retired: its {len(policy.tests)} tests are skipped")]


def _unknown_teams(file: PolicyFile, teams: KnownTeams | None) -> list[Problem]:
    if teams is None or not teams.names:
        return []
    known = f"{', '.join(sorted(teams.names))}; {teams.sources()}"
    return [
        file.problem(("applies_to", "teams", t), f"team {glob!r} matches no proxy key's team ({known})")
        for t, glob in enumerate(file.policy.applies_to.teams)
        if not any(fnmatch.fnmatchcase(team, glob) for team in teams.names)
    ]


def _shared_teams(files: list[PolicyFile], policy_set: PolicySet) -> list[Problem]:
    """Two enforced policies, neither inheriting from the other, naming the same team: both apply
    (the stronger action wins), which is rarely what the second author meant."""
    enforced = [f for f in files if f.policy.status == "active" and f.policy.mode == "enforce"]
    problems = []
    for i, first in enumerate(enforced):
        for second in enforced[i + 1 :]:
            a, b = first.policy, second.policy
            related = a.id in policy_set.ancestors.get(b.id, []) or b.id in policy_set.ancestors.get(a.id, [])
            shared = sorted(set(a.applies_to.teams) & set(b.applies_to.teams))
            if shared and not related:
                message = f"policy {a.id!r} also applies to team {shared[0]!r}: both are enforced for its requests"
                problems.append(second.problem(("applies_to", "teams"), message))
    return problems


def _slow_patterns(file: PolicyFile) -> list[Problem]:
    patterns: list[tuple[tuple[str | int, ...], str]] = [
        (("detectors", d, "patterns", p, "regex"), pattern.regex)
        for d, detector in enumerate(file.policy.detectors)
        for p, pattern in enumerate(detector.patterns)
    ]
    patterns += [
        (("exceptions", x, "allow_patterns", p), pattern)
        for x, exception in enumerate(file.policy.exceptions)
        for p, pattern in enumerate(exception.allow_patterns)
    ]
    slow = "this pattern can take very long on some inputs (catastrophic backtracking); simplify nested repeats"
    return [file.problem(loc, slow) for loc, pattern in patterns if is_slow(pattern)]


def is_slow(pattern: str) -> bool:
    """True when the pattern runs past the time limit on a long probe built from its own characters."""
    alphabet = {char for char in pattern if char.isalnum()} | set("a1 x-_.@")
    probes = [char * PROBE_LENGTH + "!" for char in sorted(alphabet)][:24] + ["ab" * (PROBE_LENGTH // 2) + "!"]
    for probe in probes:
        started = time.monotonic()
        try:
            regex.search(pattern, probe, timeout=PROBE_SECONDS)
        except TimeoutError:
            return True
        # `regex` sometimes gives up at the limit with "no match" instead of raising: time it too.
        if time.monotonic() - started >= 0.8 * PROBE_SECONDS:
            return True
    return False


def _failing_examples(file: PolicyFile, detector: DetectionEngine) -> list[Problem]:
    """Examples the detector gets wrong, judged at the score the policy's rules need: an example
    found below a rule's `min_score` would pass a bare detector test and still not fire live."""
    problems = []
    for d, spec in enumerate(file.policy.detectors):
        threshold = _threshold(file.policy, spec.entity)
        for kind, texts, wanted in (("should_match", spec.examples.should_match, True),
                                    ("should_not_match", spec.examples.should_not_match, False)):  # fmt: skip
            for i, text in enumerate(texts):
                score = _best_score(detector, spec, text)
                fires = score is not None and score >= threshold
                if fires == wanted:
                    continue
                if wanted and score is not None:
                    message = (
                        f"example is found with score {score:.2f}, below the min_score {threshold:.2f} its rules need"
                    )
                else:
                    message = f"example {'is not found' if wanted else 'is found'} by this detector"
                problems.append(file.problem(("detectors", d, "examples", kind, i), message))
    return problems


def _threshold(policy: Policy, entity: str) -> float:
    """The lowest score a rule of `policy` acting on `entity` accepts (the policy's own if none)."""
    scores = [r.min_score if r.min_score is not None else policy.settings.min_score
              for r in policy.rules if entity in r.detect]  # fmt: skip
    return min(scores, default=policy.settings.min_score)


def _best_score(detector: DetectionEngine, spec: Detector, text: str) -> float | None:
    findings = asyncio.run(detector.detect([Slot(("example",), text)], {spec.entity}, [spec]))
    return max((f.score for f in findings if f.entity_type == spec.entity), default=None)


def _expired_exceptions(file: PolicyFile, today: date) -> list[Problem]:
    return [
        file.problem(("exceptions", x, "expires"), f"exception {e.id!r} expired on {e.expires} and no longer applies")
        for x, e in enumerate(file.policy.exceptions)
        if not e.active(today)
    ]


def _shadowed_rules(file: PolicyFile) -> list[Problem]:
    """Rules that can never decide anything: another rule of the same policy always wins."""
    policy = file.policy
    return [
        file.problem(
            ("rules", r),
            f"rule {rule.id!r} never decides: rule {winner.id!r} covers the same data with a stronger action",
        )
        for r, rule in enumerate(policy.rules)
        if (winner := next((o for o in policy.rules if o is not rule and _shadows(o, rule, policy)), None))
    ]


def _shadows(strong: Rule, weak: Rule, policy: Policy) -> bool:
    return (
        STRENGTH[strong.action] > STRENGTH[weak.action]
        and set(strong.detect) >= set(weak.detect)
        and (strong.min_score or policy.settings.min_score) <= (weak.min_score or policy.settings.min_score)
        and strong.min_count <= weak.min_count
        and set(strong.directions) >= set(weak.directions)
        and policy.rule_mode(strong) == "enforce"
    )
