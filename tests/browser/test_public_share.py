"""The public share page as the person who received the link sees it."""

from pathlib import Path

from tests.browser.conftest import api_login, csrf_token, screenshot

CONTENT = "Relatório trimestral da AGEPAR\nlinha 2\n".encode()


def share(page, owner, **fields) -> str:
    """The owner uploads through the API, as the front end does; returns the public link."""
    api_login(page, owner)
    response = page.request.post("/api/fileshare/items", headers={"X-CSRFToken": csrf_token(page)}, multipart={
        "file": {"name": "relatório.txt", "mimeType": "text/plain", "buffer": CONTENT},
        **{name: str(value) for name, value in fields.items()},
    })
    assert response.status == 201, response.text()
    return response.json()["link"]


def test_protected_file_asks_for_the_password_and_downloads_with_the_right_one(new_page, owner):
    link = share(new_page(), owner, password="segredo-compartilhado")
    page = new_page()  # the recipient: no session of their own
    page.goto(link)
    assert page.locator("h1").inner_text() == "relatório.txt"
    assert page.get_by_label("Este arquivo é protegido por senha").is_visible()
    screenshot(page, "compartilhamento-senha")

    page.get_by_label("Este arquivo é protegido por senha").fill("senha-errada")
    page.get_by_role("button", name="Baixar arquivo").click()
    assert page.get_by_role("alert").inner_text() == "Senha incorreta."
    screenshot(page, "compartilhamento-senha-incorreta")

    page.get_by_label("Este arquivo é protegido por senha").fill("segredo-compartilhado")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Baixar arquivo").click()
    download = download_info.value
    assert download.suggested_filename == "relatório.txt"
    assert Path(download.path()).read_bytes() == CONTENT


def test_a_used_up_single_download_link_shows_the_no_longer_available_page(new_page, owner):
    link = share(new_page(), owner, max_downloads=1)
    page = new_page()
    page.goto(link)
    assert page.locator("dd", has_text="1").count() >= 1  # "Downloads restantes: 1"
    screenshot(page, "compartilhamento-download-unico")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Baixar arquivo").click()
    assert Path(download_info.value.path()).read_bytes() == CONTENT

    response = page.goto(link)
    assert response.status == 410
    assert page.locator("h1").inner_text() == "Este link não está mais disponível"
    screenshot(page, "compartilhamento-indisponivel")
