"""The screens staff work with: labels and links between records, workflow buttons, CSV of the filtered lists."""

import csv
import io
import re

import pytest
from django.test import Client

from audits.models import AuditEvent
from audits.services import record

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_a_submission_page_has_its_buttons_its_trail_and_a_formatted_list_row(controle, owner, submission_of):
    failed = submission_of(owner, status="error")
    record("submission.failed", status="failure", actor=owner, kind="form2json", target=failed)
    record("submission.failed", status="failure", actor=owner, kind="form2json", target=("submissions.submission", 0))
    client = signed_in(controle)
    html = client.get(f"/admin/submissions/submission/{failed.pk}/change/").content.decode()
    assert 'value="retry_selected"' in html and 'value="mark_as_error"' not in html
    trail = f"/admin/audits/auditevent/?alvo=submissions.submission%3A{failed.pk}"
    assert f'href="{trail}"' in html
    events = client.get(trail).context["cl"].result_list
    assert [event.target_id for event in events] == [str(failed.pk)]
    # The button leads to the confirmation page (a reason is asked, then recorded).
    asked = client.post("/admin/submissions/submission/", {"action": "retry_selected", "index": "0",
                                                          "_selected_action": [str(failed.pk)]})
    assert 'name="confirm"' in asked.content.decode()
    listed = client.get("/admin/submissions/submission/").content.decode()
    assert "529.982.247-25" in listed and 'class="status status-error"' in listed


def test_an_audit_event_links_its_session_and_the_session_search_finds_public_ids(staff, owner, session_of):
    session = session_of(owner)
    event = AuditEvent.objects.create(action="auth.login", actor=owner, actor_label=owner.email, kind="auth",
                                      session_public_id=session.public_id)
    client = signed_in(staff)
    html = client.get(f"/admin/audits/auditevent/{event.pk}/change/").content.decode()
    assert f'/admin/accounts/session/?q={session.public_id}' in html
    found = client.get("/admin/accounts/session/", {"q": str(session.public_id)}).context["cl"].result_list
    assert list(found) == [session]
    listed = client.get("/admin/audits/auditevent/").content.decode()
    assert 'title="auth.login">Login</span>' in listed


def test_the_filtered_changelists_export_as_csv(auditor, owner, other_user, submission_of):
    record("auth.login", actor=owner, kind="auth")
    record("auth.login", status="failure", actor_label="=cmd|' /C calc'!A0", kind="auth")
    record("fileshare.uploaded", actor=other_user, kind="fileshare")
    client = signed_in(auditor)
    rows = csv_rows(client.get("/admin/audits/auditevent/exportar.csv", {"kind": "auth"}))
    assert rows[0][:3] == ["id", "at", "action"] and len(rows) == 3
    assert {row[2] for row in rows[1:]} == {"auth.login"}
    assert "'=cmd|' /C calc'!A0" in {row[6] for row in rows[1:]}  # formulas neutralised, as the API's
    submission_of(owner, status="error")
    submission_of(other_user)
    rows = csv_rows(client.get("/admin/submissions/submission/exportar.csv", {"status__exact": "error"}))
    assert len(rows) == 2 and rows[1][2] == "error" and rows[1][4] == owner.email
    assert 'href="exportar.csv?kind=auth"' in client.get("/admin/audits/auditevent/?kind=auth").content.decode()


def test_who_may_not_see_a_list_cannot_export_it(plain_staff, controle):
    assert signed_in(plain_staff).get("/admin/audits/auditevent/exportar.csv").status_code == 403
    assert signed_in(controle).get("/admin/submissions/submission/exportar.csv").status_code == 200
    assert Client().get("/admin/audits/auditevent/exportar.csv").status_code == 302  # sign in first


def test_an_audit_event_links_its_submission_and_its_share(staff, owner, submission_of, share_of):
    submission, share = submission_of(owner), share_of(owner)
    client = signed_in(staff)
    for target, url in ((submission, f"/admin/submissions/submission/{submission.pk}/change/"),
                        (share, f"/admin/fileshare/fileshareitem/{share.pk}/change/")):
        event = record("fileshare.expired" if target is share else "submission.created", actor=owner,
                       kind="fileshare" if target is share else "form2json", target=target)
        html = client.get(f"/admin/audits/auditevent/{event.pk}/change/").content.decode()
        assert f'href="{url}"' in html, url
        assert client.get(url).status_code == 200


def at_local(day: str, clock: str = "12:00"):
    from datetime import datetime

    from django.utils import timezone

    return timezone.make_aware(datetime.fromisoformat(f"{day}T{clock}"))


def test_audits_filter_by_a_range_of_days_in_the_portals_time_zone(auditor, owner):
    # 23:30 in São Paulo on 10 March is already 11 March in UTC: it belongs to the 10th here.
    moments = {"antes": at_local("2026-03-09", "23:59"), "primeiro": at_local("2026-03-10", "00:00"),
               "fim do dia": at_local("2026-03-10", "23:30"), "último": at_local("2026-03-12", "23:59"),
               "depois": at_local("2026-03-13", "00:00")}
    for label, moment in moments.items():
        AuditEvent.objects.create(action="auth.login", actor=owner, actor_label=label, kind="auth", at=moment)
    client = signed_in(auditor)
    url = "/admin/audits/auditevent/"

    def listed(**query):
        response = client.get(url, query)
        assert response.status_code == 200
        return {event.actor_label for event in response.context["cl"].result_list}, response.content.decode()

    found, html = listed(at_de="2026-03-10", at_ate="2026-03-12", kind="auth")
    assert found == {"primeiro", "fim do dia", "último"}
    # Shown in the sidebar in Portuguese, filled in, with the other filters kept on the next submit.
    assert "Por quando (intervalo de datas)" in html
    assert 'name="at_de" value="2026-03-10"' in html and 'name="at_ate" value="2026-03-12"' in html
    assert '<input type="hidden" name="kind" value="auth">' in html and "limpar datas" in html
    assert listed(at_de="2026-03-12")[0] == {"último", "depois"}
    assert listed(at_ate="2026-03-09")[0] == {"antes"}
    # The export follows the range as well.
    rows = csv_rows(client.get(f"{url}exportar.csv", {"at_de": "2026-03-10", "at_ate": "2026-03-10"}))
    assert sorted(row[6] for row in rows[1:]) == ["fim do dia", "primeiro"]
    # Not a date: the changelist says the filter is wrong rather than listing everything.
    response = client.get(url, {"at_de": "10/03/2026"})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")
    assert client.get(f"{url}exportar.csv", {"at_de": "ontem"})["Location"].endswith("?e=1")


def test_submissions_filter_by_a_range_of_creation_and_finishing_days(controle, owner, submission_of):
    early = submission_of(owner, status="done", created_at=at_local("2026-03-01"),
                          finished_at=at_local("2026-03-05"))
    late = submission_of(owner, status="done", created_at=at_local("2026-03-04"),
                         finished_at=at_local("2026-03-04", "23:50"))
    for row, created in ((early, "2026-03-01"), (late, "2026-03-04")):  # auto_now_add ignores the value given
        type(row).objects.filter(pk=row.pk).update(created_at=at_local(created))
    client = signed_in(controle)

    def listed(**query):
        response = client.get("/admin/submissions/submission/", query)
        assert response.status_code == 200
        return {submission.pk for submission in response.context["cl"].result_list}, response.content.decode()

    found, html = listed(created_at_de="2026-03-02", created_at_ate="2026-03-31")
    assert found == {late.pk}
    assert "Por criada em (intervalo de datas)" in html and "Por finalizada em (intervalo de datas)" in html
    assert listed(finished_at_de="2026-03-04", finished_at_ate="2026-03-04")[0] == {late.pk}
    assert listed(created_at_ate="2026-03-01", finished_at_de="2026-03-05")[0] == {early.pk}


def test_a_seal_of_the_trail_reads_in_portuguese_on_the_list_and_its_page(auditor, owner):
    from audits.seals import seal_audits

    record("auth.login", actor=owner, kind="auth")
    record("auth.logout", actor=owner, kind="auth")
    (seal,) = seal_audits()
    event = AuditEvent.objects.get(action="audit.sealed")
    client = signed_in(auditor)
    listed = client.get("/admin/audits/auditevent/", {"action": "audit.sealed"})
    assert [row.pk for row in listed.context["cl"].result_list] == [event.pk]
    row = listed.content.decode().split(f"/admin/audits/auditevent/{event.pk}/change/", 1)[1].split("</tr>", 1)[0]
    assert 'title="audit.sealed">Trilha de auditoria selada</span>' in row
    assert 'title="audit">Auditoria</span>' in row
    assert 'title="audits.auditseal #1">selo da trilha de auditoria nº 1</span>' in row
    html = client.get(f"/admin/audits/auditevent/{event.pk}/change/").content.decode()
    assert "Trilha de auditoria selada (manage.py seal_audits)" in html and "<code>audit.sealed</code>" in html
    details = dict(re.findall(r'<tr><th title="(\w+)">(.*?)</th>', html))
    assert {key: details[key] for key in ("seal", "first_id", "last_id", "count", "root", "prev", "hash")} == {
        "seal": "Selo", "first_id": "Primeiro id", "last_id": "Último id", "count": "Quantidade",
        "root": "Raiz Merkle", "prev": "Hash do selo anterior", "hash": "Hash"}
    assert f"<td><span class=\"data-text\">{seal.root}</span></td>" in html
    assert "selo da trilha de auditoria nº 1" in html


def cells(html: str, column: str) -> list[str]:
    """The text of one column of the changelist, row by row (tags dropped)."""
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(rf'<td class="field-{column}[^"]*">(.*?)</td>', html, flags=re.S)]


def test_the_submission_list_shows_how_long_each_run_took(controle, owner, submission_of):
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now() - timedelta(days=1)
    for took in (timedelta(seconds=2.4), timedelta(seconds=65), timedelta(hours=2, minutes=3, seconds=9)):
        submission_of(owner, status="done", started_at=start, finished_at=start + took)
    submission_of(owner, status="running", started_at=start)  # still running: no duration yet
    submission_of(owner)  # queued: never started
    html = signed_in(controle).get("/admin/submissions/submission/", {"o": "1"}).content.decode()  # by id
    assert re.search(r"column-duracao\">.*?Duração", html, flags=re.S)
    assert cells(html, "duracao") == ["2,4 s", "1 min 05 s", "2 h 03 min", "—", "—"]


def test_the_session_list_sums_up_each_user_agent(auditor, owner, session_of):
    from accounts.models import Session

    agents = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Safari/537.36 Edg/120.0.2210.91": "Edge 120 · Windows",
        "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0": "Firefox 140 · Linux",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Mobile/15E148 Safari/604.1": "Safari 17 · iOS",  # its version, not its WebKit build
        "python-requests/2.32.3 (robô de integração do almoxarifado central)": "python-requests/2.32.3 (robô de "
                                                                               "integraç…",
        "": "—",
    }
    for agent in agents:
        Session.objects.filter(pk=session_of(owner).pk).update(user_agent=agent)
    html = signed_in(auditor).get("/admin/accounts/session/", {"usuario": owner.pk}).content.decode()
    assert cells(html, "navegador") == list(reversed(agents.values()))  # newest first
