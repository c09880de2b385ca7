"""Staff revoke a person's session in the admin; the person's very next API call is refused."""

from tests.browser.conftest import admin_login, api_login, screenshot


def session_row(page, public_id):
    # The list shows the first 8 characters of the public id; the whole id is the cell's title.
    return page.locator("#result_list tbody tr", has=page.locator(f'span[title="{public_id}"]'))


def test_staff_revokes_a_session_and_the_next_api_call_is_401(new_page, staff, owner):
    person = new_page()
    public_id = api_login(person, owner)
    assert person.request.get("/api/me").status == 200

    page = new_page()
    admin_login(page, staff)
    page.goto("/admin/accounts/session/?situacao=active")
    row = session_row(page, public_id)
    assert row.count() == 1
    assert owner.email in row.inner_text()
    screenshot(page, "admin-sessoes")

    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "revoke_selected")
    page.locator("button[name=index]").click()
    page.fill("textarea[name=reason]", "Computador compartilhado")
    screenshot(page, "admin-sessoes-confirmar")
    page.get_by_role("button", name="Sim, confirmar").click()
    assert "1 sessão(ões) revogada(s)." in page.locator(".messagelist").inner_text()
    screenshot(page, "admin-sessoes-revogada")

    answer = person.request.get("/api/me")
    assert answer.status == 401
    assert answer.json()["code"] == "not_authenticated"
    # Staff's own admin session is untouched, and the revoked one is listed as such.
    page.goto("/admin/accounts/session/?situacao=revoked")
    assert session_row(page, public_id).count() == 1
