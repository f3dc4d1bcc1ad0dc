"""Read policy files and report every mistake as `file:line:col  field: problem`.

Compliance staff edit these files by hand, so an error must point at the line to fix. YAML is
composed into nodes first, which keeps each key's position, then validated with pydantic.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from proxy.policy.bundle import PolicySet
from proxy.policy.schema import Policy

Position = tuple[int, int]


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    col: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}  {self.field}: {self.message}" if self.field else f"{where}  {self.message}"


class PolicyError(Exception):
    """One or more policy files are invalid; `problems` lists each with its position."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def load_policies(directory: Path, *, known_entities: Iterable[str] | None = None) -> PolicySet:
    """Load every `*.yaml` in `directory`; raise `PolicyError` listing all problems at once."""
    if not directory.is_dir():
        raise PolicyError([Problem(directory, 0, 0, "", "policy directory not found")])
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        raise PolicyError([Problem(directory, 0, 0, "", "no policy files (*.yaml) in this directory")])
    loaded: list[tuple[Policy, Path]] = []
    problems: list[Problem] = []
    for path in files:
        try:
            loaded.append((load_policy_file(path, known_entities=known_entities), path))
        except PolicyError as exc:
            problems.extend(exc.problems)
    problems.extend(_duplicate_ids(loaded))
    if loaded and not problems and not any(policy.status == "active" for policy, _ in loaded):
        # Serving with no policy in force would send every prompt unscanned.
        problems.append(Problem(directory, 0, 0, "", "no active policy: set `status: active` in at least one file"))
    if problems:
        raise PolicyError(problems)
    return PolicySet([policy for policy, _ in loaded])


def load_policy_file(path: Path, *, known_entities: Iterable[str] | None = None) -> Policy:
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise PolicyError([Problem(path, line, col, "", f"not valid YAML: {exc.problem}")]) from None
    positions: dict[tuple[str | int, ...], Position] = {}
    data = _to_python(node, (), positions) if node is not None else {}
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError([_problem(path, error, positions) for error in exc.errors()]) from None
    if known_entities is not None:
        _check_entities(path, policy, set(known_entities), positions)
    return policy


def _to_python(node: yaml.Node, path: tuple[str | int, ...], positions: dict[Any, Position]) -> Any:
    """Plain data from a YAML node, noting where each key and item starts."""
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            result[key] = _to_python(value_node, (*path, key), positions)
            # point at the key, not its value: that is where a reader looks
            positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, i), positions) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _problem(path: Path, error: Any, positions: dict[Any, Position]) -> Problem:
    loc = tuple(part for part in error["loc"] if not isinstance(part, str) or "[" not in part)
    while loc and loc not in positions:
        loc = loc[:-1]
    line, col = positions.get(loc, (1, 1))
    field = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field" + _did_you_mean(str(error["loc"][-1]), _siblings(error["loc"]))
    return Problem(path, line, col, field, message)


def _siblings(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed beside the unknown one, for a did-you-mean hint."""
    from proxy.policy.schema import Detector, Pattern, Rule, Settings

    models: dict[str, Any] = {"rules": Rule, "detectors": Detector, "patterns": Pattern, "settings": Settings}
    names = [str(part) for part in loc[:-1] if isinstance(part, str)]
    model = models.get(names[-1], Policy) if names else Policy
    return list(model.model_fields)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" — did you mean {close[0]!r}?" if close else ""


def _check_entities(path: Path, policy: Policy, known: set[str], positions: dict[Any, Position]) -> None:
    known |= {detector.entity for detector in policy.detectors}
    problems = []
    for r, rule in enumerate(policy.rules):
        for e, entity in enumerate(rule.detect):
            if entity not in known:
                line, col = positions.get(("rules", r, "detect", e), (0, 0))
                hint = _did_you_mean(entity, known) or " — run `privacy-proxy policy entities` for the list"
                problems.append(
                    Problem(path, line, col, f"rules.{r}.detect.{e}", f"unknown entity type {entity!r}{hint}")
                )
    if problems:
        raise PolicyError(problems)


def _duplicate_ids(loaded: list[tuple[Policy, Path]]) -> list[Problem]:
    seen: dict[str, Path] = {}
    problems = []
    for policy, path in loaded:
        if policy.id in seen:
            problems.append(Problem(path, 1, 1, "id", f"policy id {policy.id!r} is also used by {seen[policy.id]}"))
        seen[policy.id] = path
    return problems
