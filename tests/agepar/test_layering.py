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
