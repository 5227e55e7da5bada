"""The module graph of manifest_loader has no cycles, hidden ones behind function-level imports included.

The graph is read from the source (every `import`, at any depth, except under TYPE_CHECKING), so
a cycle that only closes when a function runs is still seen. Print it with
`python -m tests.architecture.test_imports`.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "manifest_loader"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(sub) for sub in ast.walk(node)}
    return skipped


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Module → the manifest_loader modules it imports (at import time or inside functions)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        skipped = _type_checking_nodes(tree)
        deps: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                submodules = [f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in modules]
                # `from . import x` of a submodule depends on x; the package itself is only its parent.
                deps |= set(submodules) if submodules else ({source} & modules.keys())
            elif isinstance(node, ast.Import):
                deps |= {alias.name for alias in node.names} & modules.keys()
        deps.discard(name)
        # A package's __init__ may import its own submodules; those import the package's parent only.
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycles() -> None:
    graph = import_graph()
    assert "manifest_loader.plan" in graph and "manifest_loader.resolve" in graph["manifest_loader.plan"]
    assert cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle_behind_a_function_level_import() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_graph_reads_function_level_imports_and_skips_type_checking_ones() -> None:
    graph = import_graph()
    # commands imports everything it runs inside its functions, and only for type hints at the top.
    assert {"manifest_loader.apply", "manifest_loader.resolve"} <= graph["manifest_loader.commands"]
    assert "manifest_loader.plan_format" not in graph["manifest_loader.commands"]


def test_imports_run_with_the_flow() -> None:
    """Connections do not import display code; nothing imports another module's private names."""
    graph = import_graph()
    assert "manifest_loader.plan_format" not in graph["manifest_loader.warehouses.sqlalchemy_warehouse"]
    private: list[str] = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("manifest_loader")):
                private += [f"{_module_name(path)}: {alias.name}" for alias in node.names
                            if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert private == []


def test_neither_shell_reads_manifests_or_resolves_targets_itself() -> None:
    graph = import_graph()
    shells = ["manifest_loader.cli", *(m for m in graph if m.startswith("manifest_loader.api"))]
    forbidden = {"manifest_loader.manifest", "manifest_loader.resolve", "manifest_loader.target",
                 "manifest_loader.apply", "manifest_loader.gc", "manifest_loader.compat"}
    assert {shell: sorted(graph[shell] & forbidden) for shell in shells if graph[shell] & forbidden} == {}


if __name__ == "__main__":
    for module, imports in sorted(import_graph().items()):
        print(f"{module} -> {', '.join(sorted(i.removeprefix('manifest_loader.') for i in imports)) or '-'}")
    print("cycles:", cycles(import_graph()) or "none")
