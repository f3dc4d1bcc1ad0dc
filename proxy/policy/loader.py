"""Read policy files and report every mistake as `file:line:col  field: problem`.

Compliance staff edit these files by hand, so an error must point at the line to fix. YAML is
composed into nodes first, which keeps each key's position, then validated with pydantic, then
checked as a set (entity names, inheritance, locked rules).
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from proxy.detection.custom import Pattern
from proxy.detection.groups import group_names
from proxy.policy import schema
from proxy.policy.bundle import PolicySet, policy_digest
from proxy.policy.inheritance import InheritanceError, resolve
from proxy.policy.schema import Policy

Position = tuple[int, int]
Positions = dict[tuple[Any, ...], Position]


@dataclass(frozen=True)
class Problem:
    """One mistake, where it is, and what to do about it."""

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


@dataclass(frozen=True)
class PolicyFile:
    policy: Policy
    path: Path
    positions: Positions

    def problem(self, loc: tuple[Any, ...], message: str) -> Problem:
        line, col = self.positions.get(loc, (1, 1))
        return Problem(self.path, line, col, field_name(loc, self.policy.model_dump(by_alias=True)), message)


#: what names an item of each list in a policy file, so that an error says `rules[cards].action`
ITEM_KEYS = {"rules": "id", "exceptions": "id", "detectors": "entity", "tests": "name"}


def field_name(loc: tuple[Any, ...], data: Any) -> str:
    """`rules[medical-record-numbers].action` for ("rules", 3, "action"): an item by its id (or
    entity, or test name) where it has one, by its position otherwise."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int) and parts:
            item = node[part] if isinstance(node, list) and part < len(node) else None
            key = ITEM_KEYS.get(parts[-1].split("[")[0], "")
            name = item.get(key) if isinstance(item, dict) else None
            parts[-1] += f"[{name}]" if isinstance(name, str) and name else f"[{part}]"
        else:
            parts.append(str(part))
        node = node[part] if isinstance(node, (dict, list)) and _has(node, part) else None
    return ".".join(parts)


def _has(node: dict[str, Any] | list[Any], part: Any) -> bool:
    return part in node if isinstance(node, dict) else isinstance(part, int) and part < len(node)


log = logging.getLogger(__name__)


def policy_directory(configured: Path) -> Path:
    """The configured directory, or the default policy shipped in the package when the
    default `./policies` does not exist (a proxy started outside a checkout)."""
    if configured.exists() or configured != Path("./policies"):
        return configured
    log.warning("no ./policies directory; using the built-in default policy")
    return Path(str(files("proxy.policies")))


def load_policies(directory: Path, *, known_entities: Iterable[str] | None = None) -> PolicySet:
    """Load and check every `*.yaml` in `directory`; raise `PolicyError` listing all problems at once."""
    files = _read_directory(directory)
    problems = [p for f in files for p in _entity_problems(f, files, known_entities)]
    problems += _duplicate_ids(files)
    if problems:
        raise PolicyError(problems)
    try:
        resolved, ancestors = resolve([f.policy for f in files])
    except InheritanceError as exc:
        where = next(f for f in files if f.policy.id == exc.policy_id)
        raise PolicyError([where.problem(exc.loc, exc.message)]) from None
    if not any(policy.status == "active" for policy in resolved):
        # Serving with no policy in force would send every prompt unscanned.
        raise PolicyError([Problem(directory, 0, 0, "", "no active policy: set `status: active` in at least one file")])
    return PolicySet(resolved, ancestors, {f.policy.id: policy_digest(f.policy) for f in files})


def policy_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))


def _read_directory(directory: Path) -> list[PolicyFile]:
    if not directory.is_dir():
        raise PolicyError([Problem(directory, 0, 0, "", "policy directory not found")])
    paths = policy_files(directory)
    if not paths:
        raise PolicyError([Problem(directory, 0, 0, "", "no policy files (*.yaml) in this directory")])
    files: list[PolicyFile] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            files.append(read_policy_file(path))
        except PolicyError as exc:
            problems.extend(exc.problems)
    if problems:
        raise PolicyError(problems)
    return files


def load_policy_file(path: Path, *, known_entities: Iterable[str] | None = None) -> Policy:
    """One file on its own (no inheritance), checked against `known_entities` when given."""
    file = read_policy_file(path)
    problems = _entity_problems(file, [file], known_entities)
    if problems:
        raise PolicyError(problems)
    return file.policy


def read_policy_file(path: Path) -> PolicyFile:
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}): save the file as UTF-8"
        raise PolicyError([Problem(path, 1, 1, "", message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise PolicyError([Problem(path, line, col, "", f"not valid YAML: {exc.problem}")]) from None
    positions: Positions = {}
    duplicates: list[tuple[tuple[Any, ...], Position]] = []
    data = _to_python(node, (), positions, duplicates) if node is not None else {}
    repeated = [
        Problem(path, *where, field_name(loc, data), "this key appears twice here; keep one")
        for loc, where in duplicates
    ]
    repeated += _repeated_rule_ids(path, data, positions)
    if repeated:
        raise PolicyError(repeated)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError([_problem(path, error, positions, data) for error in exc.errors()]) from None
    return PolicyFile(policy, path, positions)


def _repeated_rule_ids(path: Path, data: Any, positions: Positions) -> list[Problem]:
    """A rule id used twice, pointed at where it is used again (the first use is not the mistake)."""
    rules = data.get("rules") if isinstance(data, dict) else None
    seen: dict[str, int] = {}
    problems = []
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        rule_id = rule.get("id") if isinstance(rule, dict) else None
        if not isinstance(rule_id, str):
            continue
        if rule_id in seen:
            line, col = positions.get(("rules", index, "id"), (1, 1))
            first = positions.get(("rules", seen[rule_id], "id"), (0, 0))[0]
            message = f"rule id {rule_id!r} is already used on line {first}; give each rule its own id"
            problems.append(Problem(path, line, col, f"rules[{index}].id", message))
        seen.setdefault(rule_id, index)
    return problems


def _to_python(
    node: yaml.Node,
    path: tuple[Any, ...],
    positions: Positions,
    duplicates: list[tuple[tuple[Any, ...], Position]],
) -> Any:
    """Plain data from a YAML node, noting where each key and item starts.

    A key given twice is a mistake YAML itself forgives (the second silently wins, so an
    `action: allow` further down can undo an `action: block`): report it instead."""
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in result:
                duplicates.append(((*path, key), where))
            result[key] = _to_python(value_node, (*path, key), positions, duplicates)
            positions[(*path, key)] = where  # point at the key, not its value: that is where a reader looks
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, i), positions, duplicates) for i, item in enumerate(node.value)]
    try:
        return yaml.safe_load(yaml.serialize(node))
    except ValueError:  # an impossible date such as 2027-02-30: let validation report it in place
        return str(node.value)


def _problem(path: Path, error: Any, positions: Positions, data: Any) -> Problem:
    loc = tuple(part for part in error["loc"] if not isinstance(part, str) or "[" not in part)
    while loc and loc not in positions:
        loc = loc[:-1]
    line, col = positions.get(loc, (1, 1))
    field = field_name(tuple(error["loc"]), data)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field" + _did_you_mean(str(error["loc"][-1]), _siblings(error["loc"]))
    elif error["type"] == "literal_error" and isinstance(error.get("input"), str):
        choices = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        message += _did_you_mean(error["input"], choices)
    return Problem(path, line, col, field, message)


_NESTED: dict[str, type[BaseModel]] = {
    "rules": schema.Rule,
    "detectors": schema.Detector,
    "patterns": Pattern,
    "settings": schema.Settings,
    "exceptions": schema.PolicyException,
    "applies_to": schema.AppliesTo,
    "request": schema.RequestRules,
    "tests": schema.PolicyTest,
    "expect": schema.Expectation,
    "examples": schema.Examples,
    "as": schema.RequestContext,
}


def _siblings(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed beside the unknown one, for a did-you-mean hint."""
    names = [str(part) for part in loc[:-1] if isinstance(part, str)]
    model = _NESTED.get(names[-1], Policy) if names else Policy
    return list(model.model_fields)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" — did you mean {close[0]!r}?" if close else ""


def _entity_problems(file: PolicyFile, files: list[PolicyFile], known_entities: Iterable[str] | None) -> list[Problem]:
    """Unknown entity names in rules and exceptions (detectors anywhere in the set count as known)."""
    if known_entities is None:
        return []
    known = (
        set(known_entities) | set(group_names()) | {d.entity for f in _lineage(file, files) for d in f.policy.detectors}
    )
    named = [
        (("rules", r, "detect", e), name)
        for r, rule in enumerate(file.policy.rules)
        for e, name in enumerate(rule.detect)
    ]
    named += [
        (("exceptions", x, "entities", e), name)
        for x, exception in enumerate(file.policy.exceptions)
        for e, name in enumerate(exception.entities)
    ]
    hint = " — run `privacy-proxy policy entities` for the list"
    return [
        file.problem(loc, f"unknown entity type {name!r}{_did_you_mean(name, known) or hint}")
        for loc, name in named
        if name not in known
    ]


def _lineage(file: PolicyFile, files: list[PolicyFile]) -> list[PolicyFile]:
    """The file and the files it inherits from: the only detectors its rules can use."""
    by_id = {f.policy.id: f for f in files}
    chain, current = [file], file
    while current.policy.inherits in by_id and by_id[current.policy.inherits] not in chain:
        current = by_id[current.policy.inherits]
        chain.append(current)
    return chain


def _duplicate_ids(files: list[PolicyFile]) -> list[Problem]:
    seen: dict[str, Path] = {}
    problems = []
    for file in files:
        if file.policy.id in seen:
            problems.append(
                file.problem(("id",), f"policy id {file.policy.id!r} is also used by {seen[file.policy.id]}")
            )
        seen[file.policy.id] = file.path
    return problems
