"""GET /api/submissions: own by default, scope=all for oversight roles, SQL filters, cursor pages.

scope=all is for the admin, controle and auditor roles only; pages are stable under inserts and carry
no payload (the index plan is guarded in tests/perf/test_keyset_plans.py).
"""

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.utils import timezone

from submissions import selectors
from submissions.models import Submission
from tests.conftest import make_client
from tests.factories import UserFactory
from tests.submissions.helpers import make_submission

URL = "/api/submissions"


def ids(response):
    return [row["id"] for row in response.json()["results"]]


def test_lists_only_own_submissions_newest_first(owner, other_user, owner_client):
    mine = [make_submission(owner).pk for _ in range(3)]
    make_submission(other_user)
    assert ids(owner_client.get(URL)) == sorted(mine, reverse=True)


def test_list_has_no_payload_or_result_unless_asked(owner, owner_client):
    make_submission(owner, status="done")
    row = owner_client.get(URL).json()["results"][0]
    assert "payload" not in row and "result" not in row
    assert row["actor"]["id"] == owner.pk
    full = owner_client.get(URL, {"fields": "full"}).json()["results"][0]
    assert full["payload"]["nome"] and full["result"] == {"ok": True}


def test_list_query_does_not_select_payload_or_result(owner):
    from django.test.utils import CaptureQueriesContext

    make_submission(owner, status="done")
    with CaptureQueriesContext(connection) as queries:
        list(selectors.submission_list(user=owner)[:50])
    sql = queries.captured_queries[-1]["sql"]
    assert '"payload"' not in sql and '"result"' not in sql


@pytest.mark.parametrize("role", ["admin", "controle", "auditor"])
def test_scope_all_for_oversight_roles(role, owner, other_user):
    make_submission(owner), make_submission(other_user)
    response = make_client(UserFactory(roles=[role])).get(URL, {"scope": "all"})
    assert response.status_code == 200
    assert len(ids(response)) == 2


@pytest.mark.parametrize("roles", [[], ["automations.form2json"], ["compras", "rh"]])
def test_scope_all_is_403_for_everyone_else(db, roles):
    response = make_client(UserFactory(roles=roles)).get(URL, {"scope": "all"})
    assert response.status_code == 403


def test_staff_scope_all(staff_client, owner):
    make_submission(owner)
    assert len(ids(staff_client.get(URL, {"scope": "all"}))) == 1
    assert ids(staff_client.get(URL)) == []  # own by default, even for staff


def test_filters(owner, owner_client):
    old = make_submission(owner, status="done")
    Submission.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    failed = make_submission(owner, status="error")
    other_kind = make_submission(owner, kind="outra")
    assert ids(owner_client.get(URL, {"status": "error"})) == [failed.pk]
    assert ids(owner_client.get(URL, {"kind": "outra"})) == [other_kind.pk]
    cutoff = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(owner_client.get(URL, {"created_before": cutoff})) == [old.pk]
    assert set(ids(owner_client.get(URL, {"created_after": cutoff}))) == {failed.pk, other_kind.pk}


@pytest.mark.parametrize("params", [{"status": "deleted"}, {"created_after": "ontem"}, {"created_before": "2025-13-01"},
                                    {"scope": "everyone"}, {"fields": "tudo"}, {"kind": "k" * 65}])
def test_bad_filters_are_400(owner_client, params):
    response = owner_client.get(URL, params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == list(params)


def test_bad_cursor_is_404_not_500(owner_client):
    # DRF answers an undecodable cursor with 404 "Cursor inválido".
    assert owner_client.get(URL, {"cursor": "nonsense"}).status_code == 404


def test_page_size_is_capped(owner, owner_client):
    Submission.objects.bulk_create([Submission(kind="form2json", version="1", actor=owner, payload={})
                                    for _ in range(205)])
    assert len(ids(owner_client.get(URL, {"page_size": 500}))) == 200


def test_pagination_stays_correct_while_new_submissions_arrive(owner, owner_client):
    Submission.objects.bulk_create([Submission(kind="form2json", version="1", actor=owner, payload={})
                                    for _ in range(25)])
    expected = list(Submission.objects.order_by(*selectors.NEWEST_FIRST).values_list("id", flat=True))
    seen, url = [], URL + "?page_size=10"
    while url:
        page = owner_client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        make_submission(owner)  # arrives between pages, at the head of the list
        url = page["next"]
        assert not url or "offset" not in parse_qs(urlparse(url).query)
    assert seen == expected  # no row repeated, none skipped
