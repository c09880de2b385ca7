"""The benchmarks are not product code: no manage.py command seeds them, bench/ does not lean on the
test suite (the image ships bench/ without tests/), and the seeded accounts' password is never stored."""

import ast

import pytest
from django.core.management import ManagementUtility, get_commands

from accounts.models import User
from bench.harness import ROOT
from bench.seed import BENCH_STAFF, BENCH_USER, bench_accounts, seed


def test_manage_py_help_lists_no_benchmark_command():
    listed = ManagementUtility(["manage.py", "help"]).main_help_text()
    assert "migrate" in listed  # the listing itself, not an error text
    assert "bench" not in listed
    assert [name for name in get_commands() if "bench" in name or "seed" in name] == []


def _imported_modules(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_bench_imports_nothing_from_tests():
    files = sorted((ROOT / "bench").glob("*.py"))
    assert ROOT / "bench" / "seed.py" in files
    offenders = {path.name: sorted(m for m in _imported_modules(path) if m == "tests" or m.startswith("tests."))
                 for path in files}
    assert {name: found for name, found in offenders.items() if found} == {}


@pytest.mark.django_db
def test_each_run_draws_its_own_password_for_the_seeded_accounts():
    seed(users=3)
    first, second = bench_accounts(), bench_accounts()
    assert first != second and len(second) >= 20
    user, staff = User.objects.get(email=BENCH_USER), User.objects.get(email=BENCH_STAFF)
    assert user.check_password(second) and staff.check_password(second)
    assert not user.check_password(first)
    assert staff.is_superuser and sorted(user.groups.values_list("name", flat=True)) == [
        "admin", "automations.form2json"]
