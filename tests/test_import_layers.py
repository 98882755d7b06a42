"""The import structure: lower layers never import upper ones, and modules import no circle.

Read from the source with `ast` (imports under `if TYPE_CHECKING:` count too: a circle that
only type checking closes is still a circle in the design).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
# package -> packages it must never import (docs/architecture.md: api/web/cli -> services ->
# db/providers, never back; the queue runs certification, so certification is below it).
FORBIDDEN = {
    "db": {"catalog", "certification", "queue", "api", "cli", "web", "routing"},
    "providers": {"catalog", "certification", "queue", "api", "cli", "web", "routing"},
    "catalog": {"certification", "queue", "api", "cli", "web"},
    "certification": {"queue", "api", "cli", "web"},
    "sim": {"api", "cli", "web", "queue", "certification", "catalog"},
}
# Circles this test knows about and that another part of the tree owns; empty it as they go.
KNOWN_CYCLES: list[set[str]] = []


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "myia").rglob("*.py"):
        name = ".".join(path.with_suffix("").relative_to(SRC).parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    deps: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                deps.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            deps.update(alias.name for alias in node.names)
    return {d for d in deps if d in modules}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_lower_layers_never_import_upper_ones() -> None:
    wrong = []
    for module, deps in _graph().items():
        layer = module.split(".")[1] if "." in module else ""
        for dep in deps:
            target = dep.split(".")[1] if "." in dep else ""
            if target in FORBIDDEN.get(layer, ()):
                wrong.append(f"{module} imports {dep}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_module_imports_a_circle() -> None:
    cycles = [c for c in _cycles(_graph()) if c not in KNOWN_CYCLES]
    assert not cycles, [sorted(c) for c in cycles]


def test_the_checker_sees_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [{"a", "b", "c"}]
