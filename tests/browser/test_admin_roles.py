"""The admin as the roles see it in a real browser: an auditor reads, an admin acts; the API docs need no CDN."""

from urllib.parse import urlsplit

from audits.services import record
from tests.browser.conftest import admin_login, api_login, screenshot


def test_an_auditor_reads_everything_of_theirs_and_can_act_on_nothing(page, auditor, owner):
    record("auth.login", actor=owner, kind="auth", target=owner)
    admin_login(page, auditor)
    shown = {name.strip() for name in page.locator("#content-main .module caption a").all_text_contents()}
    assert shown == {"Submissões", "Trilha de auditoria", "Contas e sessões", "Compartilhamento de arquivos"}
    screenshot(page, "admin-inicio-auditor")
    for url in ("/admin/audits/auditevent/", "/admin/accounts/session/", "/admin/fileshare/fileshareitem/",
                "/admin/submissions/submission/", "/admin/accounts/user/"):
        assert page.goto(url).status == 200, url
        assert page.locator("select[name=action]").count() == 0, url  # no action to choose
    assert page.goto(f"/admin/accounts/user/{owner.pk}/change/").status == 200
    assert page.locator("input[name=_save]").count() == 0
    assert page.goto("/admin/auth/group/").status == 403
    assert "Acesso negado" in page.content()


def test_an_admin_manages_users_but_not_superuser_status(page, staff, owner):
    admin_login(page, staff)
    page.goto(f"/admin/accounts/user/{owner.pk}/change/")
    assert page.locator("input[name=is_superuser]").count() == 0  # shown read-only
    assert page.locator("input[name=is_staff]").count() == 0
    page.locator("#id_groups_from option", has_text="compras").dblclick()
    page.fill("input[name=reason]", "Passou a cuidar das compras")
    screenshot(page, "admin-usuario-papeis")
    page.locator("input[name=_save]").click()
    assert "foi alterado com sucesso" in page.locator(".messagelist").inner_text()
    assert list(owner.groups.values_list("name", flat=True)) == ["compras"]


def test_the_api_docs_render_with_every_other_origin_blocked(page, owner, base_url):
    own = urlsplit(base_url).netloc
    outside = []

    def only_ours(route):
        if urlsplit(route.request.url).netloc != own:
            outside.append(route.request.url)
            return route.abort()
        return route.continue_()

    page.route("**/*", only_ours)
    page.goto("/api/docs/")
    page.wait_for_url("**/admin/login/?next=/api/docs/")  # anonymous: sign in first
    api_login(page, owner)
    page.goto("/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Portal AGEPAR API" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".swagger-ui .opblock").count() > 10  # the operations, from /api/schema/
    assert outside == []
    screenshot(page, "api-docs")
