"""Staff in the admin: find the failed submissions, read one, queue it again."""

from audits.models import AuditEvent
from submissions.models import Submission
from tests.browser.conftest import admin_login, screenshot
from tests.submissions.helpers import make_submission


def test_staff_filters_by_status_reads_the_json_and_retries_a_failed_submission(page, staff, owner):
    done = make_submission(owner, status="done", result={"documento": {"nome": "Ana Dona", "itens": [1, 2]}})
    failed = make_submission(owner, status="error", error="Tempo esgotado ao gerar o documento")
    make_submission(owner, status="queued")

    admin_login(page, staff)
    page.locator("#content-main tr.model-submission th a").click()
    page.wait_for_url("**/admin/submissions/submission/")
    assert page.locator("#result_list tbody tr").count() == 3
    screenshot(page, "admin-submissoes")

    page.locator("#changelist-filter").get_by_role("link", name="erro", exact=True).click()
    page.wait_for_url("**status__exact=error**")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("th a").inner_text() == str(failed.pk)
    screenshot(page, "admin-submissoes-filtro-erro")

    rows.first.locator("th a").click()
    page.wait_for_url(f"**/admin/submissions/submission/{failed.pk}/change/**")
    # The payload as a table labelled by the automation's serializer, values as typed.
    assert page.locator(".field-payload_table th[title=nome]").inner_text() == "Nome"
    assert page.locator(".field-payload_table th[title=nome] + td").inner_text() == failed.payload["nome"]
    assert page.locator(".field-payload_table th[title=itens] + td li").count() == 2 * 3  # 2 items × (item, 2 keys)
    assert "Tempo esgotado ao gerar o documento" in page.locator(".field-error").inner_text()
    assert page.locator("input[name=_save]").count() == 0  # read-only: no save button
    screenshot(page, "admin-submissao-detalhe")

    page.go_back()
    page.wait_for_url("**status__exact=error**")
    page.locator(f"input[name=_selected_action][value='{failed.pk}']").check()
    page.select_option("select[name=action]", "retry_selected")
    page.locator("button[name=index]").click()
    page.fill("textarea[name=reason]", "O gerador de documentos voltou")
    page.get_by_role("button", name="Sim, confirmar").click()
    assert "1 submissão(ões) reenfileirada(s)" in page.locator(".messagelist").inner_text()
    screenshot(page, "admin-submissoes-reenfileirada")

    failed.refresh_from_db()
    assert failed.status != Submission.Status.ERROR
    assert AuditEvent.objects.filter(action="submission.retried", target_id=str(failed.pk)).count() == 1
    done.refresh_from_db()
    assert done.status == Submission.Status.DONE  # untouched
