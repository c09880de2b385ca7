"""Where a submission's run is enqueued: in its own transaction when the queue is a table of
the same database (django-tasks-db), after commit for any other queue."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from submissions import services
from submissions.models import Submission
from tests.submissions.conftest import FORM

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


class Boom(Exception):
    pass


@pytest.fixture
def actor(owner):
    return owner


def create(actor):
    return services.submission_create(actor=actor, kind="form2json", payload=FORM).submission


@pytest.mark.django_db(transaction=True)
def test_database_queue_gets_the_task_in_the_same_transaction(actor, settings):
    settings.TASKS = DB_TASKS
    with transaction.atomic():
        submission = create(actor)
        # Visible inside the transaction already: nothing waits for a commit hook.
        (task,) = DBTaskResult.objects.all()
        assert task.args_kwargs == {"args": [submission.pk], "kwargs": {}}
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_database_queue_rolls_back_with_the_submission(actor, settings):
    settings.TASKS = DB_TASKS
    with pytest.raises(Boom), transaction.atomic():
        create(actor)
        raise Boom
    assert not Submission.objects.exists()
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_other_queues_are_given_the_task_after_commit(actor, django_capture_on_commit_callbacks):
    # Test settings run tasks with django-tasks' ImmediateBackend: it would run the submission
    # inside the creating transaction, so it must wait for the commit.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submission = create(actor)
    assert len(callbacks) == 1
    assert Submission.objects.get(pk=submission.pk).status == "queued"
    callbacks[0]()
    assert Submission.objects.get(pk=submission.pk).status == "done"
