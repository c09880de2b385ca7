"""Shape guards (not timings): list queries are constant in the page size, and no list or
changelist reads a whole table to count it. Run on SQLite and PostgreSQL alike."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from bench.seed import BENCH_STAFF, BENCH_USER, seed
from tests.conftest import make_client
from tests.perf.query_shapes import captured_sql, query_shape, unbounded_counts

# Rows for the busiest seeded user (rank 0 gets ~37% at 20 users): more than the largest page.
SIZES = {"users": 20, "audits": 400, "submissions": 400, "sessions": 400, "shares": 600}
API_LISTS = [
    "/api/submissions",
    "/api/submissions?scope=all",
    "/api/submissions?scope=all&status=done",
    "/api/submissions?fields=full",
    "/api/audits",
    "/api/audits?action=submission.created",
    "/api/auth/sessions",
    "/api/fileshare/items",
    "/api/fileshare/items?scope=all",
]
CHANGELISTS = [
    "/admin/audits/auditevent/",
    "/admin/audits/auditevent/?action=auth.login",
    "/admin/audits/auditevent/?status=failure&kind=auth",
    "/admin/audits/auditevent/?q=bench-0000",
    "/admin/submissions/submission/",
    "/admin/submissions/submission/?status__exact=error",
    "/admin/submissions/submission/?q=Ana",
    "/admin/accounts/session/",
    "/admin/accounts/session/?situacao=active",
    "/admin/accounts/session/?q=bench-0000",
    "/admin/fileshare/fileshareitem/",
]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The admin templates look up static files; the hashed-manifest storage needs collectstatic first.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


@pytest.fixture
def dataset(db):
    seed(**SIZES)
    return User.objects.get(email=BENCH_USER), User.objects.get(email=BENCH_STAFF)


def _rows(response) -> int:
    return len(response.json()["results"])


@pytest.mark.parametrize("path", API_LISTS)
def test_list_queries_are_constant_in_the_page_size(dataset, path):
    user, _ = dataset
    shape = query_shape(make_client(user), path, page_sizes=(5, 50), rows_at_least=_rows)
    assert shape.constant, shape.explain()


@pytest.mark.parametrize("path", API_LISTS)
def test_list_pages_never_count_the_table(dataset, path):
    user, _ = dataset
    sqls = captured_sql(make_client(user), path)
    assert not unbounded_counts(sqls), unbounded_counts(sqls)


@pytest.mark.parametrize("path", CHANGELISTS)
def test_changelists_never_count_the_table(dataset, path):
    _, staff = dataset
    client = make_client(staff)
    sqls = captured_sql(client, path)
    assert not unbounded_counts(sqls), unbounded_counts(sqls)


@pytest.mark.parametrize("path", CHANGELISTS)
def test_changelist_queries_are_constant_in_the_page_length(dataset, path, monkeypatch):
    """The admin's page length is list_per_page; 5 rows and 50 rows must cost the same queries."""
    _, staff = dataset
    client = make_client(staff)
    admin_class = type(_model_admin(path))
    counts = {}
    for per_page in (5, 50):
        monkeypatch.setattr(admin_class, "list_per_page", per_page)
        client.get(path)
        counts[per_page] = len(captured_sql(client, path))
    assert len(set(counts.values())) == 1, f"{path}: queries per page length {counts} (an N+1)"


def _model_admin(path: str):
    from django.apps import apps
    from django.contrib import admin

    app_label, model_name = path.split("/")[2:4]
    return admin.site._registry[apps.get_model(app_label, model_name)]


def test_the_detector_sees_an_n_plus_one(dataset):
    """The helper must fail a list that reads one row per item: prove it on a deliberately bad view."""
    from audits.models import AuditEvent

    ids = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True)[:50])
    counts = {}
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            [AuditEvent.objects.get(pk=pk).actor_label for pk in ids[:size]]  # the N+1 shape
        counts[size] = len(queries)
    assert counts[5] != counts[50]
    assert unbounded_counts(["SELECT COUNT(*) FROM audits_auditevent"])
    assert not unbounded_counts(["SELECT COUNT(*) FROM (SELECT 1 FROM audits_auditevent LIMIT 10001) subquery"])
