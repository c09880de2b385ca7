"""manage.py run_maintenance: every routine cleanup in one cron line, a failure reported, not hidden."""

from io import StringIO

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError

from agepar.management.commands import run_maintenance

STEPS = ["clearsessions", "clear_counters", "audits_partitions", "prune_audits", "prune_submissions",
         "requeue_stale", "prune_task_results", "cleanup_fileshare", "cleanup_submission_files", "seal_audits"]


def _run(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("run_maintenance", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def _order(output: str) -> list[str]:
    return [line.split(":")[0] for line in output.splitlines() if line.split(":")[0] in STEPS]


@pytest.mark.django_db
def test_it_runs_every_installed_step_in_order_and_reports_each():
    out, err, failure = _run()
    assert failure is None, err
    assert _order(out) == STEPS
    installed = get_commands()
    for step in STEPS:
        expected = f"{step}: ok in " if step in installed else f"{step}: skipped (command not installed)"
        assert expected in out


@pytest.mark.django_db
def test_it_skips_a_command_that_is_not_installed(monkeypatch):
    installed = {name: app for name, app in get_commands().items() if name != "prune_submissions"}
    monkeypatch.setattr(run_maintenance, "get_commands", lambda: installed)
    out, err, failure = _run()
    assert failure is None, err
    assert "prune_submissions: skipped (command not installed)" in out


@pytest.mark.django_db(transaction=True)  # as from cron: no test transaction around the steps
def test_a_failing_step_does_not_stop_the_others_but_fails_the_run(settings):
    # prune_audits refuses a retention under one day.
    settings.AUDITS_RETENTION = "60s"
    out, err, failure = _run()
    assert "prune_audits: FAILED" in err
    assert "at least 1d" in err
    assert _order(out) == [step for step in STEPS if step != "prune_audits"]  # the later steps still ran
    assert "prune_submissions: ok" in out
    assert failure is not None and "1 maintenance step(s) failed: prune_audits" in str(failure)


@pytest.mark.django_db
def test_skip_leaves_a_step_out_and_rejects_unknown_names():
    out, _, failure = _run("--skip", "prune_audits")
    assert failure is None
    assert "prune_audits: skipped (--skip)" in out
    _, _, failure = _run("--skip", "migrate")
    assert failure is not None and "not a maintenance step: migrate" in str(failure)
