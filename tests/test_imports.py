"""The shape of `proxy`'s imports, read with `ast`: no cycles, no private names across modules.

The graph holds the imports a module runs when it is loaded: its top-level statements, also
inside a top-level `if` or `try`, but not under `if TYPE_CHECKING:` (never run) nor inside a
function (run when called, after every module has loaded; that is how commands defer spaCy and
SQLAlchemy until they need them). Cycles closed by such deferred imports are listed in
`DEFERRED` so that none is added unnoticed."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from .conftest import REPO

PACKAGE = REPO / "proxy"


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(path): path for path in PACKAGE.rglob("*.py")}


def _runs_at_load(statements: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in statements:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for block in ("body", "orelse", "finalbody"):
                yield from _runs_at_load(getattr(node, block, []))
            for handler in getattr(node, "handlers", []):
                yield from _runs_at_load(handler.body)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str]]:
    """(module imported, name taken from it) for each `proxy` module this statement loads."""
    if isinstance(node, ast.Import):
        yield from ((alias.name, "") for alias in node.names if alias.name in MODULES)
        return
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    base = node.module or ""
    if node.level:
        parts = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    for alias in node.names:
        if f"{base}.{alias.name}" in MODULES:
            yield f"{base}.{alias.name}", ""
        elif base in MODULES:
            yield base, alias.name


def _imports(module: str, deep: bool) -> list[tuple[str, str]]:
    tree = ast.parse(MODULES[module].read_text())
    nodes = (
        [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
        if deep
        else list(_runs_at_load(tree.body))
    )
    return [target for node in nodes for target in _targets(module, node) if target[0] != module]


def _tangles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that import each other, directly or round a cycle (Tarjan's
    strongly connected components of more than one module)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for imported in graph[module]:
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            group = set()
            while (member := stack.pop()) != module:
                group.add(member)
            if group:
                found.append(group | {module})

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return found


def _graph(deep: bool) -> dict[str, set[str]]:
    return {module: {target for target, _ in _imports(module, deep)} for module in MODULES}


#: cycles closed only by an import inside a function; each is to go, not to grow (the analyzer
#: out of `engine`); remove it here when it does
DEFERRED = [
    {"proxy.detection.engine", "proxy.detection.pool"},
]


def test_the_modules_of_proxy_import_each_other_without_a_cycle() -> None:
    graph = _graph(deep=False)
    assert sum(map(len, graph.values())) > 100  # the graph was really read
    assert _tangles(graph) == []


def test_imports_inside_functions_close_no_cycle_but_the_known_ones() -> None:
    assert sorted(map(sorted, _tangles(_graph(deep=True)))) == sorted(map(sorted, DEFERRED))


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _tangles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert _tangles({"a": {"b"}, "b": set()}) == []


def test_no_module_takes_a_private_name_from_another() -> None:
    taken = [
        f"{module} imports {name} from {target}"
        for module in MODULES
        for target, name in _imports(module, deep=True)
        if name.startswith("_") and not name.startswith("__")
    ]
    assert taken == []
