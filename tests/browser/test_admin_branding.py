"""The admin as staff see it: Portal AGEPAR branding, Portuguese labels, São Paulo time."""

import datetime

from tests.browser.conftest import admin_login, screenshot
from tests.factories import DEFAULT_PASSWORD

HEADER = "Portal AGEPAR — Administração"
# Every app the admin may show, in the order staff expect; anything else (an English label) fails.
APPS_IN_ORDER = ["Submissões", "Trilha de auditoria", "Contas e sessões", "Compartilhamento de arquivos",
                 "Autenticação e Autorização"]


def test_login_page_is_branded_and_refuses_a_wrong_password_in_portuguese(page, staff):
    page.goto("/admin/")
    page.wait_for_url("**/admin/login/?next=/admin/")
    assert page.locator("html").get_attribute("lang") == "pt-br"
    assert page.inner_text("#site-name").startswith(HEADER)
    assert HEADER in page.title()
    page.fill("#id_username", staff.email)
    page.fill("#id_password", "senha-errada-123")
    page.click("input[type=submit]")
    assert "Por favor, insira um e-mail e senha corretos" in page.inner_text(".errornote")
    screenshot(page, "admin-login-erro")


def test_index_lists_the_apps_in_portuguese_in_working_order(page, superuser):
    admin_login(page, superuser)
    assert page.inner_text("#site-name").startswith(HEADER)
    assert page.inner_text("#content h1") == "Administração do portal"
    shown = [name.strip() for name in page.locator("#content-main .module caption a").all_text_contents()]
    assert shown == [name for name in APPS_IN_ORDER if name in shown]
    assert {"Contas e sessões", "Autenticação e Autorização"} <= set(shown)
    assert "Tasks Database Backend" not in page.content()
    assert page.get_by_role("button", name="Encerrar sessão").count() == 1
    screenshot(page, "admin-inicio")


def test_dates_are_shown_in_sao_paulo_time(page, staff, owner):
    owner.last_login = datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC)
    owner.save(update_fields=["last_login"])
    admin_login(page, staff)
    page.goto(f"/admin/accounts/user/{owner.pk}/change/")
    last_login = page.locator(".field-last_login .readonly").inner_text()
    assert last_login == "15/01/2026 09:00:00 -03"  # 12:00 UTC is 09:00 in America/Sao_Paulo
    screenshot(page, "admin-usuario")


def test_a_user_without_staff_access_cannot_enter(page, owner):
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", owner.email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    assert "Por favor, insira um e-mail e senha corretos para uma conta de equipe" in page.inner_text(".errornote")

