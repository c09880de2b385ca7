"""No two modules of one app import each other, directly or round a longer loop.

Read from the source (every `import` statement, function-level ones included), so a cycle hidden
behind a late import counts too. The one loop allowed is Django's documented session pair: the
session model names its engine (`get_session_store_class`) and the engine names its model
(`get_model_class`).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = [{"accounts.models", "accounts.sessions"}]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> set[str]:
    """Every module (or module attribute) an import statement in `path` names, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from app import module`
    return found


def import_graph(app: str) -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts}
    return {name: {m for m in _imports(path, name) if m in paths and m != name} for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walker_sees_a_cycle_through_a_late_import():
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}}
    assert cycles(graph) == [{"a.x", "a.y", "a.z"}]
    path = ROOT / "accounts" / "sessions.py"
    assert "accounts.models" in _imports(path, "accounts.sessions")  # imported inside get_model_class


@pytest.mark.parametrize("app", ["accounts", "audits", "fileshare", "submissions", "agepar"])
def test_no_import_cycle_inside_an_app(app):
    assert [c for c in cycles(import_graph(app)) if c not in ALLOWED] == []
