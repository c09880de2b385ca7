"""A submission's history is read from its creation on (audits.selectors.with_submission_floor): no
event about a submission is older than it, so `?submission=` implies `at_after` = its creation less
CLOCK_MARGIN. The same rows; on PostgreSQL, fewer months planned (tests/audits/test_partitions.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audits.models import AuditEvent
from audits.selectors import CLOCK_MARGIN, SUBMISSION_TARGET, with_submission_floor
from audits.services import record
from tests.submissions.helpers import make_submission

URL = "/api/audits"
pytestmark = pytest.mark.django_db


def _event(submission, at, action="submission.file_downloaded"):
    return AuditEvent.objects.create(action=action, kind="form2json", actor_label="x", at=at,
                                     target_type=SUBMISSION_TARGET, target_id=str(submission.pk))


def test_a_history_holds_every_event_from_a_clock_behind_to_long_after(auditor_client, owner):
    submission = make_submission(owner)
    created = record("submission.created", actor=owner, kind="form2json", target=submission)
    skewed = _event(submission, submission.created_at - CLOCK_MARGIN + timedelta(minutes=1))  # the DB's clock behind
    later = _event(submission, submission.created_at + timedelta(days=400))
    rows = auditor_client.get(URL, {"submission": str(submission.pk)}).json()["results"]
    assert [row["id"] for row in rows] == [later.pk, created.pk, skewed.pk]


def test_the_floor_is_the_submissions_creation_less_the_margin(auditor_client, owner):
    submission = make_submission(owner)
    kept = _event(submission, submission.created_at - CLOCK_MARGIN)
    _event(submission, submission.created_at - CLOCK_MARGIN - timedelta(seconds=1))  # cannot be: left out
    assert [row["id"] for row in auditor_client.get(URL, {"submission": str(submission.pk)}).json()["results"]] \
        == [kept.pk]
    export = auditor_client.get(f"{URL}/export.csv", {"submission": str(submission.pk)})
    assert export.status_code == 200
    assert len(b"".join(export.streaming_content).decode("utf-8-sig").splitlines()) == 2  # header + kept


def test_a_later_at_after_is_kept_and_an_earlier_one_raised(owner):
    submission = make_submission(owner)
    floor = submission.created_at - CLOCK_MARGIN
    later = timezone.now() + timedelta(hours=1)
    assert with_submission_floor({"submission": str(submission.pk), "at_after": later})["at_after"] == later
    assert with_submission_floor({"submission": str(submission.pk), "at_after": floor - timedelta(days=9)}) \
        == {"submission": str(submission.pk), "at_after": floor}


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("target", ["{pk}0000", "abc", "{arabic}", str(2**63), "0", "-{pk}"])
def test_an_id_of_no_submission_leaves_the_filter_as_it_is(owner, target):
    submission = make_submission(owner)
    # Python's int() reads Arabic-Indic digits; the events' target_id never holds them.
    target = target.format(pk=submission.pk, arabic=str(submission.pk).translate(ARABIC_INDIC))
    assert with_submission_floor({"submission": target}) == {"submission": target}


def test_a_pruned_submissions_events_are_all_still_found(auditor_client, owner):
    submission = make_submission(owner)
    old = _event(submission, submission.created_at - timedelta(days=30))
    submission.delete()  # the row is gone (prune_submissions): no floor
    assert [row["id"] for row in auditor_client.get(URL, {"submission": str(old.target_id)}).json()["results"]] \
        == [old.pk]
