"""The library's modules import one another without a circle: read from the source, at module level (what runs on
import, and the type-only imports under `if TYPE_CHECKING`, which a reader follows just the same) and with the
imports inside functions too (what runs later, e.g. a backend importing the builder)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pvse"


def _module_name(file: Path) -> str:
    parts = file.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(f): f for f in sorted(PACKAGE.rglob("*.py"))}


def _imports(tree: ast.Module, module_level: bool) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, type-only ones included; only those outside functions when asked."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            inner = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if not (module_level and inner):
                visit(child, top and not inner)

    visit(tree, True)
    return found


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, known: set[str]) -> set[str]:
    """The pvse modules an import statement runs: the named module (or submodules) and the packages above them
    that the importer is not already inside."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = importer.split(".") if is_package else importer.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        names = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source for alias in node.names]
    out = set()
    for name in names:
        if name not in known:
            continue
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            ancestor = ".".join(parts[:depth])
            if ancestor in known and not (importer == ancestor or importer.startswith(ancestor + ".")):
                out.add(ancestor)
    out.discard(importer)
    return out


def import_graph(module_level: bool) -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, file in modules.items():
        tree = ast.parse(file.read_text(encoding="utf-8"))
        is_package = file.name == "__init__.py"
        graph[name] = set().union(*(_targets(node, name, is_package, known)
                                    for node in _imports(tree, module_level)))
        if not module_level:  # modules imported by name (importlib.import_module("pvse.x.y")) run too
            graph[name] |= {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                            and node.value in known and node.value != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read_from_the_source():
    graph = import_graph(module_level=False)
    assert "pvse.search.searcher" in graph and "pvse.errors" in graph["pvse.search.searcher"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module_level", [True, False], ids=["static", "run-time"])
def test_no_import_circle(module_level):
    cycle = find_cycle(import_graph(module_level))
    assert cycle is None, "import circle: " + " -> ".join(cycle)
