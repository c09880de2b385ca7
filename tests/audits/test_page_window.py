"""The audit list read near each page's edge first (audits.api.AuditPagination, PostgreSQL's monthly
partitions): whatever the window, the pages hold exactly the list one query would give, in both
directions, with rows on the bound, future stamps and time filters. The window is forced on here
(one hour, on SQLite too); tests/audits/test_partitions.py shows what it saves on PostgreSQL."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audits import partitions
from audits.models import AuditEvent

URL = "/api/audits"
SPAN = timedelta(hours=1)
pytestmark = pytest.mark.django_db


@pytest.fixture
def windowed(monkeypatch):
    monkeypatch.setattr(partitions, "monthly", lambda connection: True)
    monkeypatch.setattr(partitions, "PAGE_WINDOW", SPAN)


@pytest.fixture
def trail():
    """Events at uneven gaps (some far wider than the window, some exactly one window apart), several
    sharing an instant, two stamped in the future; newest first as the list orders them."""
    now = timezone.now().replace(microsecond=0)
    offsets = [timedelta(days=1), timedelta(minutes=5), timedelta(0), timedelta(0), -SPAN, -SPAN, -2 * SPAN,
               -2 * SPAN - timedelta(minutes=1), -timedelta(days=3), -timedelta(days=3) - SPAN,
               -timedelta(days=40), -timedelta(days=40), -timedelta(days=400)]
    AuditEvent.objects.bulk_create([
        AuditEvent(action="auth.login" if n % 3 else "auth.logout", kind="auth", actor_label="x", at=now + offset)
        for n, offset in enumerate(offsets)
    ])
    return list(AuditEvent.objects.order_by("-at", "-id").values_list("id", "action", "at"))


def _walk(client, params: dict) -> tuple[list[int], dict]:
    """Every id from the first page to the last, following `next`; and the last page."""
    page = client.get(URL, params).json()
    ids = [row["id"] for row in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        ids += [row["id"] for row in page["results"]]
    return ids, page


@pytest.mark.parametrize("size", [1, 2, 3, 5, 50])
def test_pages_hold_the_whole_list_in_order_both_ways(auditor_client, windowed, trail, size):
    ids, last = _walk(auditor_client, {"page_size": size})
    assert ids == [row[0] for row in trail]
    back = []
    page = last
    while page["previous"]:
        page = auditor_client.get(page["previous"]).json()
        back = [row["id"] for row in page["results"]] + back
    assert back + [row["id"] for row in last["results"]] == ids


@pytest.mark.parametrize("filters", [
    {"action": "auth.logout"},
    {"at_before": "now"},
    {"at_before": "-1h"},
    {"at_after": "-2h"},
    {"at_after": "-41d", "at_before": "-2h"},
])
def test_filtered_pages_hold_the_filtered_list(auditor_client, windowed, trail, filters):
    now = timezone.now().replace(microsecond=0)
    shift = {"now": timedelta(0), "-1h": -SPAN, "-2h": -2 * SPAN, "-41d": -timedelta(days=41)}
    params = {key: (now + shift[value]).isoformat() if key.startswith("at_") else value
              for key, value in filters.items()}
    expected = [id_ for id_, action, at in trail
                if filters.get("action", action) == action
                and ("at_after" not in params or at >= now + shift[filters["at_after"]])
                and ("at_before" not in params or at < now + shift[filters["at_before"]])]
    assert expected, "a filter that matches nothing shows nothing"
    assert _walk(auditor_client, {**params, "page_size": 2})[0] == expected


def _audit_queries(client, params: dict) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL, params).status_code == 200
    return [q["sql"] for q in captured.captured_queries if 'FROM "audits_auditevent"' in q["sql"]]


def test_a_page_that_the_window_fills_is_one_query_and_a_sparse_one_two(auditor_client, windowed, trail):
    assert len(_audit_queries(auditor_client, {"page_size": 2})) == 1  # four events within the hour
    assert len(_audit_queries(auditor_client, {"page_size": 6})) == 2


def test_an_at_after_within_the_window_needs_no_second_query(auditor_client, windowed, trail):
    after = (timezone.now() - SPAN / 2).isoformat()
    assert len(_audit_queries(auditor_client, {"at_after": after, "page_size": 50})) == 1


def test_without_partitions_a_page_is_one_query(auditor_client, trail, monkeypatch):
    monkeypatch.setattr(partitions, "monthly", lambda connection: False)
    assert len(_audit_queries(auditor_client, {"page_size": 50})) == 1
