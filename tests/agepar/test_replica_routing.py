"""Which reads go to the read replica (agepar/routers.py): the big admin changelists and the audit CSV
exports (API and admin) do; a change page and an admin action, which writes, read the primary.

The "replica" here is a second database alias on the test database itself, so each request's queries
can be counted per alias; that a real streaming replica serves them (and the fallback when it lags
or stops) is tests/ops/test_replica.py. The rows are committed (`transaction=True`) because the
second alias is a connection of its own and sees only what the primary's connection committed.
"""

import csv
import io

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from agepar import routers
from audits.services import record
from fileshare.models import FileShareItem
from tests.submissions.helpers import make_submission

# The test cases may use the alias `_replica_alias` declares (Django refuses connections to any other).
pytestmark = pytest.mark.django_db(transaction=True, databases=[routers.PRIMARY, routers.REPLICA])


@pytest.fixture(scope="module", autouse=True)
def _replica_alias():
    """The "replica" alias, declared before the test cases are (Django checks their `databases` then)."""
    primary = settings.DATABASES[routers.PRIMARY]
    options = {key: value for key, value in primary["OPTIONS"].items() if key != "pool"}
    with pytest.MonkeyPatch.context() as patch:
        # The same dict the connections read: a copy of the primary's (its test database's name
        # included), without its pool, as settings.py declares a replica.
        patch.setitem(settings.DATABASES, routers.REPLICA,
                      {**primary, "OPTIONS": options, "CONN_MAX_AGE": 0, "TEST": {"MIRROR": routers.PRIMARY}})
        yield
        connections[routers.REPLICA].close()
        del connections[routers.REPLICA]


@pytest.fixture
def replica(monkeypatch):
    """The replica usable; returns what each alias reads."""
    # The probe's answer (lag, unreachable) is the real-replica test's subject; here the replica is usable.
    monkeypatch.setattr(routers, "status", lambda **_: routers.ReplicaStatus(True, 0.0))
    assert routers.lag_tolerant() == routers.REPLICA
    return Reads()


class Reads:
    """`with reads:` captures what each alias runs; `reads.of(alias, table)` the SELECTs that name `table`."""

    def __enter__(self):
        self.captures = {alias: CaptureQueriesContext(connections[alias]) for alias in (routers.PRIMARY,
                                                                                       routers.REPLICA)}
        for capture in self.captures.values():
            capture.__enter__()
        return self

    def __exit__(self, *exc):
        for capture in self.captures.values():
            capture.__exit__(*exc)

    def of(self, alias: str, table: str) -> list[str]:
        return [query["sql"] for query in self.captures[alias].captured_queries
                if query["sql"].lstrip().upper().startswith("SELECT") and table in query["sql"]]


def _signed_in(client, user):
    client.force_login(user)
    return client


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.mark.parametrize(("url", "table"), [
    ("/admin/audits/auditevent/", "audits_auditevent"),
    ("/admin/submissions/submission/", "submissions_submission"),
    ("/admin/fileshare/fileshareitem/", "fileshare_fileshareitem"),
])
def test_a_big_changelist_reads_its_rows_from_the_replica(replica, client, superuser, owner, url, table):
    record("auth.login", actor=owner, kind="auth")
    make_submission(owner)
    FileShareItem.objects.create(owner=owner, original_name="relatorio.pdf", storage_name="t/replica", size=1,
                                 content_type="application/pdf", sha256="0" * 64, token_hash="a" * 64,
                                 expires_at="2999-01-01T00:00:00Z")
    client = _signed_in(client, superuser)
    with replica:
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 1  # the committed row, as the replica sees it
    assert replica.of(routers.REPLICA, table)
    assert not replica.of(routers.PRIMARY, table)


@pytest.mark.parametrize("url", ["/api/audits/export.csv", "/admin/audits/auditevent/exportar.csv"])
def test_the_audit_csv_export_reads_the_replica(replica, client, superuser, owner, url):
    event = record("auth.login", actor=owner, kind="auth")
    client = _signed_in(client, superuser)
    with replica:
        _, *rows = _csv(client.get(url, {"action": "auth.login"} if url.startswith("/api") else {"kind": "auth"}))
    assert str(event.pk) in [row[0] for row in rows]
    assert replica.of(routers.REPLICA, "audits_auditevent")
    assert not replica.of(routers.PRIMARY, "audits_auditevent")


def test_a_change_page_reads_the_primary(replica, client, superuser, owner):
    event = record("auth.login", actor=owner, kind="auth")
    client = _signed_in(client, superuser)
    with replica:
        assert client.get(f"/admin/audits/auditevent/{event.pk}/change/").status_code == 200
    assert replica.of(routers.PRIMARY, "audits_auditevent")
    assert not replica.captures[routers.REPLICA].captured_queries


def test_an_admin_action_selects_its_rows_on_the_primary_where_it_writes(replica, client, superuser, owner):
    share = FileShareItem.objects.create(owner=owner, original_name="relatorio.pdf", storage_name="t/replica",
                                         size=1, content_type="application/pdf", sha256="0" * 64,
                                         token_hash="b" * 64, expires_at="2999-01-01T00:00:00Z")
    client = _signed_in(client, superuser)
    with replica:
        asked = client.post("/admin/fileshare/fileshareitem/", {"action": "expire_now", "index": "0",
                                                                "_selected_action": [str(share.pk)]})
        assert 'name="confirm"' in asked.content.decode()
        done = client.post("/admin/fileshare/fileshareitem/", {"action": "expire_now", "index": "0", "confirm": "1",
                                                               "reason": "teste da réplica",
                                                               "_selected_action": [str(share.pk)]})
    assert done.status_code == 302
    share.refresh_from_db()
    assert share.expires_at.year < 2999
    assert replica.of(routers.PRIMARY, "fileshare_fileshareitem")
    assert not replica.captures[routers.REPLICA].captured_queries
