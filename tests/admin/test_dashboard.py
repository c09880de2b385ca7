"""The dashboard on the admin index: its numbers are the COUNTs of the lists they link to."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.models import Session
from agepar import dashboard
from fileshare.models import FileShareItem
from submissions.models import Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity(owner, other_user, submission_of, share_of, session_of):
    now = timezone.now()
    for days_ago, status in [(0, "done"), (0, "error"), (1, "done"), (1, "queued"), (3, "running"), (40, "done")]:
        row = submission_of(owner, status=status)
        Submission.objects.filter(pk=row.pk).update(created_at=now - timedelta(days=days_ago))
    stale = submission_of(other_user, status="running", lease_expires_at=now - timedelta(minutes=5))
    old_error = submission_of(other_user, status="error")
    Submission.objects.filter(pk=old_error.pk).update(finished_at=now - timedelta(days=2))
    share_of(owner)
    share_of(owner, expires_at=now - timedelta(hours=1))
    session_of(owner)
    session_of(other_user)
    return stale


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_figures_equal_counts_on_the_same_filters(activity, controle):
    cache.clear()
    now = timezone.now()
    found = dashboard.compute(now)
    assert found["queued"] == Submission.objects.filter(status="queued").count() == 1
    assert found["failed_24h"] == Submission.objects.filter(
        status="error", finished_at__gte=now - timedelta(hours=24)).count() == 1
    assert found["lease_expired"] == 1
    assert found["active_sessions"] == Session.objects.alive(now).count() == 2
    live = FileShareItem.objects.filter(deleted_at__isnull=True, expires_at__gt=now)
    assert (found["live_shares"], found["live_bytes"]) == (live.count(), sum(live.values_list("size", flat=True)))
    recent = Submission.objects.filter(created_at__gte=now - timedelta(days=29, hours=23))
    assert sum(sum(day["counts"].values()) for day in found["days"]) == recent.count()
    assert len(found["days"]) == 30


def test_each_figure_links_to_a_changelist_that_lists_as_many_rows(activity, staff):
    client = signed_in(staff)
    page = client.get("/admin/")
    assert page.status_code == 200
    figures = {figure.label: figure for figure in page.context["dashboard"]["figures"]}
    for label in ("Na fila", "Erros nas últimas 24 h", "Em execução com reserva vencida", "Sessões ativas"):
        listed = client.get(figures[label].url)
        assert listed.status_code == 200, figures[label].url
        assert str(len(listed.context["cl"].result_list)) == figures[label].value, label
    html = page.content.decode()
    assert "<svg" in html and "<script" not in html.split('id="content"')[1].split("</svg>")[0]
    # Every bar links to its day and status; together the bars hold every submission of the 30 days.
    bars = page.context["dashboard"]["chart"]["bars"]
    for bar in bars:
        assert client.get(bar["url"]).status_code == 200
    assert sum(int(bar["title"].split(": ")[1].split()[0]) for bar in bars) == 7  # all but the 40-day-old one


def test_who_may_not_see_submissions_gets_no_dashboard(plain_staff):
    assert "dashboard" not in signed_in(plain_staff).get("/admin/").context


def test_the_figures_are_cached_for_a_minute(activity, staff, django_assert_max_num_queries):
    client = signed_in(staff)
    client.get("/admin/")
    Submission.objects.filter(status="queued").update(status="error")
    with django_assert_max_num_queries(12):
        page = client.get("/admin/")
    assert {f.label: f.value for f in page.context["dashboard"]["figures"]}["Na fila"] == "1"  # a minute old


def test_the_failures_of_the_last_day_are_read_from_their_own_index(activity):
    # At a million rows the 24-hour failure count read every error row ever (docs/BENCHMARKS.md,
    # "Admin dashboard"); a partial index on finished_at WHERE status = 'error' reads only the day's.
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        since = timezone.now() - timedelta(hours=24)
        plan = Submission.objects.filter(status="error", finished_at__gte=since).explain()
    assert "submission_error_finished" in plan, plan
