"""The layering the design promises (DESIGN §3, §5.12), read from the import statements of the code.

Every `import` counts, also those inside functions: a deferred import is still a dependency.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "agepar", "audits", "fileshare", "submissions")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for app in APPS for path in sorted((ROOT / app).rglob("*.py"))
            if "migrations" not in path.parts}


def imported_names(path: Path) -> set[str]:
    """Every dotted name an import statement of the file mentions (`from a.b import c` gives a.b and a.b.c)."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's package, one level up per extra dot
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("layer", ["services", "selectors"])
def test_services_and_selectors_know_nothing_of_the_http_framework(layer):
    # They are called from the API, the admin, commands and workers alike; they raise agepar.errors.
    offenders = {name: sorted(n for n in imported_names(path) if n.split(".")[0] == "rest_framework")
                 for name, path in _modules().items() if name.rpartition(".")[2] == layer}
    assert offenders, f"no {layer} modules found"
    assert {name: found for name, found in offenders.items() if found} == {}


# Django's documented pair: the session model names its engine (get_session_store_class) and the
# engine its model (get_model_class).
ALLOWED_CYCLES = [{"accounts.models", "accounts.sessions"}]


def _import_graph() -> dict[str, set[str]]:
    """module -> the modules of the same app it imports."""
    modules = _modules()

    def app(name: str) -> str:
        return name.partition(".")[0]

    return {name: {found for found in imported_names(path) if found in modules and found != name
                   and app(found) == app(name)}
            for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
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


def test_the_cycle_finder_finds_cycles():
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}, "a.v": set()}
    assert cycles(graph) == [{"a.x", "a.y", "a.z"}]


def test_imports_inside_functions_count():
    # accounts.models imports its session engine inside get_session_store_class().
    assert "accounts.sessions" in _import_graph()["accounts.models"]


def test_no_import_cycle_within_an_app_but_the_session_model_and_engine():
    assert [cycle for cycle in cycles(_import_graph()) if cycle not in ALLOWED_CYCLES] == []
