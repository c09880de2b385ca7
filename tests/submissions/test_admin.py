"""Admin (pt-BR): changelist filters/search, read-only payload/result, retry and mark-as-error actions."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audits.models import AuditEvent
from submissions.models import Submission
from tests.admin_actions import run_admin_action
from tests.submissions.helpers import make_submission

URL = "/admin/submissions/submission/"


@pytest.fixture
def rows(owner, other_user):
    return {
        "done": make_submission(owner, status="done", result={"nome": "Ana <b>Dona</b>"}),
        "error": make_submission(owner, status="error"),
        "queued": make_submission(other_user),
        "running": make_submission(other_user, status="running", lease_expires_at=timezone.now() + timedelta(hours=1)),
    }


def listed(response):
    return {row.pk for row in response.context["cl"].result_list}


def test_changelist_filters(admin_client, rows):
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert listed(response) == {r.pk for r in rows.values()}
    assert listed(admin_client.get(URL, {"status__exact": "error"})) == {rows["error"].pk}
    assert listed(admin_client.get(URL, {"kind": "form2json"})) == {r.pk for r in rows.values()}
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert len(listed(admin_client.get(URL, {"created_at__gte": since}))) == 4


def test_search_by_cpf_email_prefix_name_prefix_and_id(admin_client, rows, owner, other_user):
    mine = {rows["done"].pk, rows["error"].pk}
    assert listed(admin_client.get(URL, {"q": "529.982.247-25"})) == mine
    assert listed(admin_client.get(URL, {"q": owner.email.split("@")[0].upper() + "@"})) == mine
    assert listed(admin_client.get(URL, {"q": "ana d"})) == mine
    assert listed(admin_client.get(URL, {"q": "Bruno"})) == {rows["queued"].pk, rows["running"].pk}
    assert listed(admin_client.get(URL, {"q": "Dona"})) == set()  # prefix, not substring
    assert listed(admin_client.get(URL, {"q": str(rows["queued"].pk)})) == {rows["queued"].pk}


def test_detail_is_read_only_with_escaped_tables(admin_client, rows):
    response = admin_client.get(f"{URL}{rows['done'].pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="data-table"' in html and "Ana &lt;b&gt;Dona&lt;/b&gt;" in html
    assert 'name="payload"' not in html and 'name="result"' not in html
    assert admin_client.post(f"{URL}{rows['done'].pk}/change/", {"status": "queued"}).status_code == 403
    assert admin_client.get(f"{URL}add/").status_code == 403


def test_retry_action_only_requeues_errors_through_the_service(admin_client, rows, staff,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = run_admin_action(admin_client, URL, "retry_selected", [r.pk for r in rows.values()],
                                    "servidor de PDF voltou")
    assert response.status_code == 200
    statuses = dict(Submission.objects.values_list("pk", "status"))
    assert statuses[rows["error"].pk] == "queued"
    assert statuses[rows["done"].pk] == "done" and statuses[rows["running"].pk] == "running"
    event = AuditEvent.objects.get(action="submission.retried")
    assert event.actor_id == staff.pk and event.details["reason"] == "servidor de PDF voltou"
    assert len(callbacks) == 1


def test_mark_as_error_only_touches_stuck_rows(admin_client, rows, staff):
    run_admin_action(admin_client, URL, "mark_as_error", [r.pk for r in rows.values()], "automação removida")
    statuses = dict(Submission.objects.values_list("pk", "status"))
    assert statuses[rows["queued"].pk] == statuses[rows["running"].pk] == "error"
    assert statuses[rows["done"].pk] == "done"
    events = AuditEvent.objects.filter(action="submission.failed")
    assert {e.target_id for e in events} == {str(rows["queued"].pk), str(rows["running"].pk)}
    assert all(e.actor_id == staff.pk and e.details["error"] == "automação removida" for e in events)


def test_an_auditor_sees_submissions_but_runs_no_action(rows, auditor):
    client = Client()
    client.force_login(auditor)
    response = client.get(URL)
    assert response.status_code == 200
    assert "retry_selected" not in response.content.decode()
    client.post(URL, {"action": "mark_as_error", "_selected_action": [rows["queued"].pk], "confirm": "1",
                      "reason": "x"})
    assert Submission.objects.get(pk=rows["queued"].pk).status == "queued"


def test_changelist_query_count_does_not_grow_with_rows(admin_client, owner, django_assert_max_num_queries):
    for _ in range(30):
        make_submission(owner)
    with django_assert_max_num_queries(12):
        assert admin_client.get(URL).status_code == 200


def test_withdrawn_filter_and_the_fields_of_a_withdrawn_run_with_files(admin_client, rows, owner, settings):
    from submissions import services, tasks

    settings.SUBMISSIONS_EXTRA_AUTOMATIONS = ["tests.submissions.outcome_automation"]
    with_files = make_submission(owner, kind="test-outcome", payload={"mode": "files"})
    tasks.run_submission.call(with_files.pk)
    services.submission_delete(submission=rows["error"], actor=owner)
    assert listed(admin_client.get(URL, {"excluida": "sim"})) == {rows["error"].pk}
    assert rows["error"].pk not in listed(admin_client.get(URL, {"excluida": "nao"}))
    page = admin_client.get(f"{URL}{rows['error'].pk}/change/").content.decode()
    assert "excluída por" in page.lower() and owner.email in page
    page = admin_client.get(f"{URL}{with_files.pk}/change/").content.decode()
    assert f'href="/admin/submissions/submission/{with_files.pk}/arquivos/dados.csv"' in page
