"""The audit trail in the admin: browse and filter only; nothing can be added, changed or deleted."""

from audits.models import AuditEvent
from audits.services import record
from tests.browser.conftest import admin_login, screenshot


def test_audits_are_read_only_and_filter_by_action(page, staff, owner):
    record("submission.created", actor=owner, kind="form2json", details={"payload_keys": ["nome", "email"]})
    record("submission.created", actor=owner, kind="form2json")
    record("fileshare.downloaded", actor=owner, kind="fileshare")
    record("auth.login", status="failure", actor_label="desconhecido@agepar.go.gov.br", kind="auth")

    admin_login(page, staff)
    page.goto("/admin/audits/auditevent/")
    assert page.locator("#content h1").inner_text() == "Selecione evento de auditoria para visualizar"
    assert page.locator("#content a.addlink").count() == 0  # (the sidebar links other models)
    actions = page.locator("select[name=action] option").all_text_contents()
    assert not any("Remover" in action for action in actions)
    screenshot(page, "admin-auditoria")

    page.locator("#changelist-filter").get_by_role("link", name="submission.created — Execução criada").click()
    page.wait_for_url("**action=submission.created**")
    shown = page.locator("#result_list tbody td.field-acao").all_inner_texts()
    assert shown == ["Execução criada", "Execução criada"]
    screenshot(page, "admin-auditoria-filtro-acao")

    page.locator("#result_list tbody tr").last.locator("th a").first.click()  # the older one, with details
    page.wait_for_url("**/admin/audits/auditevent/*/change/**")
    assert page.locator("input[type=submit]").count() == 0  # no save buttons
    assert page.locator("#content a.deletelink").count() == 0
    assert page.locator(".field-details_table th[title=payload_keys] + td li").all_inner_texts() == ["nome", "email"]
    screenshot(page, "admin-auditoria-detalhe")

    event = AuditEvent.objects.filter(action="fileshare.downloaded").get()
    for url in ("/admin/audits/auditevent/add/", f"/admin/audits/auditevent/{event.pk}/delete/"):
        assert page.goto(url).status == 403
