"""Keyset pagination (agepar.api.CursorPagination) on lists ordered by time: every row exactly once,
forward and backward, with ties on the time column and with filters; forged cursors are a 404.

Ties come from one INSERT that leaves AuditEvent.at to the database (one instant per statement on
PostgreSQL and SQLite, and on SQLite the database's own `...SS.fff` text) and from rows given one
instant in Python (`...SS` and `...SS.ffffff` on SQLite).
"""

import base64
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from agepar.api import CursorPagination, cursor_token
from audits.models import AuditEvent
from submissions.models import Submission
from tests.agepar.test_errors import assert_error
from tests.submissions.helpers import make_submission

AUDITS, SUBMISSIONS = "/api/audits", "/api/submissions"


def _pages(client, url: str, link: str = "next") -> list[dict]:
    """Every page from `url` on, following `link` until it is null."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        pages.append(response.json())
        url = pages[-1][link]
    return pages


def _ids(pages: list[dict]) -> list[list[int]]:
    return [[row["id"] for row in page["results"]] for page in pages]


def _newest_first(rows, time: str) -> list[int]:
    return [row.pk for row in sorted(rows, key=lambda row: (getattr(row, time), row.pk), reverse=True)]


def assert_pages_both_ways(client, url: str, expected: list[int], page_size: int):
    forward = _pages(client, url)
    assert sum(_ids(forward), []) == expected
    assert all(len(ids) == page_size for ids in _ids(forward)[:-1])
    assert forward[0]["previous"] is None and forward[-1]["next"] is None
    if len(forward) > 1:
        backward = _pages(client, forward[-1]["previous"], link="previous")
        assert _ids(backward)[::-1] == _ids(forward)[:-1]
        # Turning round on a page reached backwards leads forward again to the same pages.
        assert _ids(_pages(client, backward[0]["next"])) == _ids(forward)[-1:]


def _events(action: str, count: int, **fields) -> None:
    """`count` events in one INSERT; without `at`, the database's default stamps them all alike."""
    AuditEvent.objects.bulk_create([AuditEvent(action=action, actor_label="x", **fields) for _ in range(count)])


@pytest.fixture
def trail(db):
    """27 events, 24 of them tied six by six on 4 instants, inserted out of time order (ids do not follow time)."""
    now = timezone.now()
    _events("submission.created", 6, at=(now - timedelta(minutes=5)).replace(microsecond=0), status="failure")
    _events("auth.login", 6)
    _events("submission.failed", 6, at=now - timedelta(minutes=1, microseconds=1))
    _events("auth.login", 6, at=now - timedelta(minutes=9), status="failure")
    for minutes in (20, 30, 40):
        _events("auth.logout", 1, at=now - timedelta(minutes=minutes))
    return list(AuditEvent.objects.all()), now


@pytest.mark.parametrize("page_size", [1, 4, 5, 200])
def test_the_trail_pages_forward_and_back_through_ties(staff_client, trail, page_size):
    rows, _ = trail
    assert_pages_both_ways(staff_client, f"{AUDITS}?page_size={page_size}", _newest_first(rows, "at"), page_size)


@pytest.mark.parametrize("case", ["action", "at_before", "at_after+at_before", "status+at_before"])
def test_filters_combine_with_cursors(staff_client, trail, case):
    rows, now = trail
    after, before = now - timedelta(minutes=30), now - timedelta(minutes=1)
    query, keep = {
        "action": ({"action": "auth.login"}, lambda e: e.action == "auth.login"),
        "at_before": ({"at_before": before.isoformat()}, lambda e: e.at < before),
        "at_after+at_before": ({"at_after": after.isoformat(), "at_before": before.isoformat()},
                               lambda e: after <= e.at < before),
        "status+at_before": ({"status": "failure", "at_before": before.isoformat()},
                             lambda e: e.status == "failure" and e.at < before),
    }[case]
    expected = _newest_first([row for row in rows if keep(row)], "at")
    assert expected  # the filter must leave rows for the walk to prove anything
    assert_pages_both_ways(staff_client, f"{AUDITS}?{urlencode({**query, 'page_size': 4})}", expected, 4)


@pytest.fixture
def submissions(owner, other_user):
    """15 submissions of two authors, tied five by five on 3 creation instants that do not follow the ids."""
    now = timezone.now()
    rows = [make_submission(owner if i % 3 else other_user, status="error" if i % 2 else "done") for i in range(15)]
    for i, row in enumerate(rows):
        Submission.objects.filter(pk=row.pk).update(created_at=now - timedelta(minutes=(7 * i) % 3))
    return list(Submission.objects.all()), now


@pytest.mark.parametrize("case", ["all", "status", "created_before", "status+created_after"])
def test_submissions_page_by_creation_time_through_ties(staff_client, submissions, case):
    rows, now = submissions
    bound = now - timedelta(seconds=30)
    query, keep = {
        "all": ({}, lambda s: True),
        "status": ({"status": "error"}, lambda s: s.status == "error"),
        "created_before": ({"created_before": bound.isoformat()}, lambda s: s.created_at < bound),
        "status+created_after": ({"status": "done", "created_after": bound.isoformat()},
                                 lambda s: s.status == "done" and s.created_at >= bound),
    }[case]
    expected = _newest_first([row for row in rows if keep(row)], "created_at")
    assert expected
    url = f"{SUBMISSIONS}?{urlencode({**query, 'scope': 'all', 'page_size': 2})}"
    assert_pages_both_ways(staff_client, url, expected, 2)


def test_pages_whose_neighbours_were_deleted_still_lead_somewhere(owner, owner_client):
    ids = [make_submission(owner).pk for _ in range(6)][::-1]
    first = owner_client.get(SUBMISSIONS, {"page_size": 2}).json()
    second = owner_client.get(first["next"]).json()
    Submission.objects.filter(pk__in=ids[:2] + ids[4:]).delete()
    # Nothing before the second page any more: its `previous` is empty, and leads on to the list's start.
    before = owner_client.get(second["previous"]).json()
    assert before["results"] == [] and before["previous"] is None
    assert [row["id"] for row in owner_client.get(before["next"]).json()["results"]] == ids[2:4]
    # Nothing after it either: an empty page whose `previous` leads back to the rows before its cursor
    # (the second page's last row, which that page showed).
    after = owner_client.get(second["next"]).json()
    assert after["results"] == [] and after["next"] is None
    assert [row["id"] for row in owner_client.get(after["previous"]).json()["results"]] == ids[2:3]


def _raw(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


NOW = "2026-05-01 12:00:00.123456+00:00"
FORGED = {
    "not base64": "***",
    "not ascii": "çç",
    "no position": _raw("r=1"),
    "one value": cursor_token([NOW]),
    "three values": cursor_token([NOW, 1, 2]),
    "a word for the time": cursor_token(["ontem", 1]),
    "a date, no time": cursor_token(["2026-05-01", 1]),
    "no offset": cursor_token(["2026-05-01 12:00:00", 1]),
    "before year 1": cursor_token(["0001-01-01 00:00:00+01:00", 1]),
    "after year 9999": cursor_token(["9999-12-31 23:59:59-01:00", 1]),
    "a word for the id": cursor_token([NOW, "abc"]),
    "a fraction for the id": cursor_token([NOW, "1.5"]),
    "an id past bigint": cursor_token([NOW, 2**63]),
    "an offset": _raw(f"o=5&{urlencode([('p', NOW), ('p', 1)])}"),
    "a direction that is not 0 or 1": _raw(f"r=2&{urlencode([('p', NOW), ('p', 1)])}"),
}


@pytest.mark.parametrize("path", [AUDITS, f"{SUBMISSIONS}?scope=all"])
@pytest.mark.parametrize("cursor", FORGED.values(), ids=FORGED.keys())
def test_a_forged_cursor_is_a_404(staff_client, path, cursor):
    assert_error(staff_client.get(path, {"cursor": cursor}), 404, "not_found")


def test_a_cursor_handed_out_decodes(staff_client, trail):
    page = staff_client.get(AUDITS, {"page_size": 1}).json()
    assert staff_client.get(page["next"]).status_code == 200
    assert staff_client.get(AUDITS, {"cursor": cursor_token([NOW, 1], reverse=True)}).status_code == 200


@pytest.mark.parametrize("ordering", [
    ("-created_at",),  # the last column is not unique: ties at a page edge would repeat or vanish
    ("-created_at", "id"),  # mixed directions: not one row-value comparison
    ("-started_at", "-id"),  # nullable
    ("-actor", "-id"),  # a relation
])
def test_an_ordering_that_cannot_be_a_keyset_is_refused(db, ordering):
    request = Request(APIRequestFactory().get(SUBMISSIONS))
    with pytest.raises(ImproperlyConfigured):
        CursorPagination().paginate_queryset(Submission.objects.order_by(*ordering), request)


LISTS = [AUDITS, SUBMISSIONS, "/api/fileshare/items", "/api/auth/sessions"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("value", ["abc", "0", "-5", "null", "", "1.5", " 5", "٥", "0" * 12, "9" * 5000])
def test_a_malformed_page_size_is_a_400_on_every_list(staff_client, path, value):
    response = staff_client.get(path, {"page_size": value})
    if value == "9" * 5000:  # digits, just many: capped like any page size above the maximum
        assert response.status_code == 200
        return
    assert_error(response, 400, "invalid")
    assert list(response.json()["errors"]) == ["page_size"]


@pytest.mark.parametrize("path", LISTS)
def test_a_page_size_with_leading_zeros_or_above_the_maximum_is_read(staff_client, path):
    assert staff_client.get(path, {"page_size": "007"}).status_code == 200
    assert staff_client.get(path, {"page_size": "201"}).status_code == 200


def test_the_schema_says_page_size_starts_at_one(staff_client):
    schema = staff_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    found = [parameter["schema"] for item in schema["paths"].values() for operation in item.values()
             for parameter in operation.get("parameters", []) if parameter["name"] == "page_size"]
    assert len(found) == len(LISTS) and all(s == {"type": "integer", "minimum": 1} for s in found)
