"""The list endpoints build their rows without DRF serializers (agepar/representation.py); the
serializers remain the documented schema. These tests hold the two outputs byte for byte equal."""

import datetime as dt
import uuid

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from agepar.renderers import ORJSONRenderer
from audits import selectors as audit_selectors
from audits.api import AuditEventSerializer, event_row
from audits.services import record
from fileshare import selectors as fileshare_selectors
from fileshare.api import ItemSerializer, item_row
from fileshare.models import FileShareItem
from submissions import selectors as submission_selectors
from submissions.api import SubmissionSerializer, SubmissionSummarySerializer, full_row, submission_body, summary_row
from submissions.models import Submission


@pytest.fixture
def submissions(owner, other_user):
    now = timezone.now()
    Submission.objects.create(kind="form2json", version="1.0.0", actor=owner, actor_cpf=owner.cpf or "",
                              actor_nome=owner.nome, actor_email=owner.email, payload={"nome": "Ana", "n": [1, 2]},
                              status="done", result={"ok": True}, attempts=1, started_at=now, finished_at=now)
    Submission.objects.create(kind="form2json", version="1.0.0", actor=other_user, actor_cpf="",
                              actor_nome="Sem CPF", actor_email=other_user.email, payload={}, status="queued")


def rendered(rows) -> bytes:
    return ORJSONRenderer().render(list(rows))


@pytest.fixture(autouse=True)
def api_time_zone():
    with timezone.override(dt.UTC):  # what ApiUtcMiddleware sets for /api/
        yield


@pytest.mark.parametrize("full", [False, True])
def test_submission_rows_match_the_serializers(submissions, owner, full):
    rows = list(submission_selectors.submission_list(user=owner, all_actors=True, full=full).order_by("-id"))
    instances = list(Submission.objects.order_by("-id"))
    serializer, build = (SubmissionSerializer, full_row) if full else (SubmissionSummarySerializer, summary_row)
    assert rendered(build(row) for row in rows) == rendered(serializer(instances, many=True).data)
    assert len(rows) == 2


def test_submission_bodies_match_the_serializer(submissions, owner):
    created = Submission.objects.create(kind="form2json", version="1.0.0", actor=owner, actor_nome=owner.nome,
                                        actor_email=owner.email, payload={"ação": [1, {"x": None}]})
    # A fresh instance (timestamps from Python) and rows read back (timestamps from the database).
    for submission in [created, *Submission.objects.order_by("id")]:
        assert rendered([submission_body(submission)]) == rendered([SubmissionSerializer(submission).data])


def test_audit_rows_match_the_serializer(db, owner):
    record("auth.login", actor=owner, kind="auth", details={"via": "password", "n": [1]})
    record("auth.login", status="failure", actor_label="alguem@agepar.local", kind="auth")
    rows = list(audit_selectors.audit_event_list())
    assert len(rows) == 2
    # The serializer reads the same values; a session id and an IP exercise the non-string fields.
    rows[0] = {**rows[0], "session_public_id": uuid.uuid4(), "ip": "10.0.0.1"}
    assert rendered(event_row(row) for row in rows) == rendered(AuditEventSerializer(rows, many=True).data)


@pytest.fixture
def shares(owner, other_user) -> dict[str, FileShareItem]:
    now = timezone.now()

    def share(n: int, owner, **fields) -> FileShareItem:
        return FileShareItem.objects.create(
            owner=owner, original_name=f"relatório {n} \u2028 ação.pdf", storage_name=f"t/{n}", size=n * 1000,
            content_type="application/pdf", sha256=f"{n:064x}", token_hash=f"{n:064x}", **fields)

    return {
        "plain": share(1, owner, expires_at=now + dt.timedelta(days=7)),
        "protected": share(2, owner, expires_at=now + dt.timedelta(days=1), password=make_password("segredo"),
                           max_downloads=3, downloads=1),
        # Whole seconds (no fraction in the ISO text), another owner, its download limit reached: still listed.
        "exhausted": share(3, other_user, expires_at=(now + dt.timedelta(days=30)).replace(microsecond=0),
                           created_at=now.replace(microsecond=0), max_downloads=2, downloads=2),
        "expired": share(4, owner, expires_at=now - dt.timedelta(seconds=1), password=make_password("segredo")),
        "deleted": share(5, owner, expires_at=now + dt.timedelta(days=7), deleted_at=now),
    }


@pytest.mark.parametrize("scope", ["all", "own"])
def test_fileshare_item_rows_match_the_serializer(shares, owner, scope):
    rows = list(fileshare_selectors.live_items(owner=owner if scope == "own" else None))
    listed = ["exhausted", "protected", "plain"] if scope == "all" else ["protected", "plain"]
    assert [row["id"] for row in rows] == [shares[name].pk for name in listed]  # never the expired or deleted
    assert "password" not in rows[0]  # the hash stays in the database: only whether there is one
    instances = [FileShareItem.objects.select_related("owner").get(pk=shares[name].pk) for name in listed]
    assert rendered(item_row(row) for row in rows) == rendered(ItemSerializer(instances, many=True).data)


def test_orjson_renderer_writes_drf_bytes():
    """agepar.renderers.ORJSONRenderer is a drop-in: same bytes as DRF's JSONRenderer on what views return."""
    import datetime
    import decimal

    from django.utils.translation import gettext_lazy
    from rest_framework.renderers import JSONRenderer
    from rest_framework.utils.serializer_helpers import ReturnDict

    from agepar.renderers import ORJSONRenderer

    data = ReturnDict({
        "text": "ação \u2028 \u2029 \"aspas\" \\", "lazy": gettext_lazy("Dados inválidos."), "none": None,
        "numbers": [1, 2.5, True, 2**62], "utc": datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC),
        "local": timezone.localtime(), "date": datetime.date(2026, 1, 2), "uuid": uuid.UUID(int=7),
        "decimal": decimal.Decimal("1.50"), 3: "int key", "nested": {"set": {1}, "tuple": (1, "a")},
    }, serializer=None)
    assert ORJSONRenderer().render(data) == JSONRenderer().render(data)
    assert ORJSONRenderer().render(None) == JSONRenderer().render(None)
