"""Every log line written while serving a request carries its request id, tracebacks included; a
worker's lines for a submission carry the submission and task ids (JSON lines, as in production)."""

import io
import json
import logging

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from agepar.logging import ContextFilter, JsonFormatter
from submissions import services
from tests.factories import UserFactory
from tests.submissions.helpers import db_worker, wait_for


@pytest.fixture
def json_lines():
    """The root logger's lines as production formats them (the handler settings.LOGGING builds)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


@pytest.mark.django_db
@pytest.mark.urls("tests.agepar.urls_failing")
def test_a_traceback_logged_while_serving_carries_the_request_id(json_lines):
    client = Client(raise_request_exception=False)
    response = client.get("/failing", HTTP_X_REQUEST_ID="req-traceback-1")
    assert response.status_code == 500 and response["X-Request-ID"] == "req-traceback-1"
    lines = json_lines()
    failure = next(line for line in lines if line["logger"] == "django.request")
    assert "RuntimeError: boom inside a view" in failure["exc"]
    assert failure["request_id"] == "req-traceback-1"
    assert all(line.get("request_id") == "req-traceback-1" for line in lines)
    # Outside a request, no id leaks onto later lines.
    logging.getLogger("agepar.test").warning("after the request")
    assert "request_id" not in json_lines()[-1]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_lines_of_a_submission_carry_its_submission_and_task_ids(tmp_path, settings):
    failing = "tests.submissions.failing_automation"
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.SUBMISSIONS_EXTRA_AUTOMATIONS = [failing]
    submission = services.submission_create(actor=UserFactory(roles=["admin"]), kind="test-failing",
                                            payload={"n": 1}).submission
    task = DBTaskResult.objects.get()
    with db_worker(tmp_path, SUBMISSIONS_EXTRA_AUTOMATIONS=failing) as worker:
        wait_for(lambda: type(submission).objects.get(pk=submission.pk).status == "error", timeout=60,
                 what=f"the run to fail ({worker.log_path})")
    lines = [json.loads(line) for line in worker.log_path.read_text().splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("submission_id") == submission.pk]
    automation_line = next(line for line in ours if line["msg"] == "about to fail on purpose")
    traceback_line = next(line for line in ours if "boom inside the automation" in line.get("exc", ""))
    for line in (automation_line, traceback_line):
        assert line["task_id"] == str(task.pk)


def test_the_agepar_app_config_is_the_one_whose_ready_wires_the_signals():
    from django.apps import apps
    from django_tasks.signals import task_started

    from agepar.apps import AgeparConfig

    assert type(apps.get_app_config("agepar")) is AgeparConfig
    assert any("agepar.log_task_started" in str(receiver[0]) for receiver in task_started.receivers)
