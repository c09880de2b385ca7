"""Payloads, results and event details on the admin pages: labelled tables, nested lists, escaped text."""

import re

import pytest
from django.test import Client

from agepar.admin_tools import DATA_MAX_DEPTH, data_table
from audits.services import record
from submissions import automations
from tests.submissions.helpers import make_submission

pytestmark = pytest.mark.django_db
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def rows(html: str, field: str) -> list[tuple[str, str]]:
    """(label, text with tags dropped) of each row of the table in the field's box (nested values are
    lists, never tables, so the first </table> ends it)."""
    box = html.split(f'class="form-row field-{field}"', 1)[1]
    table = box.split('<table class="data-table"><tbody>', 1)[1].split("</table>", 1)[0]
    return [(label, " ".join(re.sub(r"<[^>]+>", " ", cell).split()))
            for label, cell in re.findall(r"<tr><th[^>]*>(.*?)</th><td>(.*?)</td></tr>", table, flags=re.S)]


def test_a_payload_is_a_table_labelled_by_the_automations_serializer_with_html_shown_as_text(auditor, owner):
    payload = {"nome": "Ana", "email": "ana@agepar.go.gov.br", "departamento": HOSTILE, "prioridade": "alta",
               "data": "2025-03-14", "aceitaTermos": True,
               "itens": [{"descricao": "Cadeira", "quantidade": 2}, {"descricao": "Mesa", "quantidade": 1}]}
    submission = make_submission(owner, status="done", payload=payload,
                                 result={**payload, "metadata": {"engine": "form2json@1.0.0", "submissionId": 7}})
    html = page(auditor, f"/admin/submissions/submission/{submission.pk}/change/")
    # The serializer's labels, in its order (jsonb keeps none); nested rows as nested lists.
    assert rows(html, "payload_table") == [
        ("Nome", "Ana"), ("E-mail", "ana@agepar.go.gov.br"),
        ("Departamento", '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;'),
        ("Prioridade", "alta"), ("Data", "2025-03-14"), ("Aceita os termos", "sim"),
        ("Itens", "Descrição: Cadeira Quantidade: 2 Descrição: Mesa Quantidade: 1")]
    assert '<ol class="data-list"><li><ul class="data-list"><li><span class="data-key" title="descricao">' \
           "Descrição:</span>" in html
    assert HOSTILE not in html and "<img src=x" not in html and "<script>alert" not in html
    # The result: payload-named keys take the payload's labels, the metadata block the platform's.
    result = dict(rows(html, "result_table"))
    assert result["Departamento"].startswith("&lt;script&gt;")
    assert result["Metadados"] == "Gerado por: form2json@1.0.0 Submissão: 7"


def test_a_result_names_its_files_and_the_automations_own_keys(auditor, owner):
    listing = {"name": "dfd-1.pdf", "size": 10, "content_type": "application/pdf", "sha256": "ab"}
    submission = make_submission(owner, kind="dfd", status="done", payload={"protocolo": "P-1"},
                                 result={"protocolo": "P-1", "total_geral": 12.5, "files": [listing]})
    html = page(auditor, f"/admin/submissions/submission/{submission.pk}/change/")
    assert rows(html, "result_table") == [
        ("Protocolo", "P-1"), ("Total geral (R$)", "12.5"),
        ("Arquivos", "Nome: dfd-1.pdf Tamanho (bytes): 10 Tipo de conteúdo: application/pdf SHA-256: ab")]


def test_audit_details_are_labelled_by_key(auditor, owner):
    event = record("user.changed", actor=owner, kind="users", target=owner, details={
        "fields": ["is_staff"], "changes": {"is_staff": {"before": False, "after": True}},
        "reason": HOSTILE, "sessions_revoked": 0, "unheard_of": None})
    html = page(auditor, f"/admin/audits/auditevent/{event.pk}/change/")
    assert rows(html, "details_table") == [
        ("Motivo", '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;'),
        ("Sessões revogadas", "0"), ("Campos alterados", "is_staff"),
        ("Alterações", "Acesso à administração: Antes: não Depois: sim"),
        ("unheard_of", "—")]  # a key without a label shows as itself
    assert '<th title="sessions_revoked">Sessões revogadas</th>' in html
    assert HOSTILE not in html


def test_empty_values_and_deep_nesting_stay_readable():
    assert str(data_table({})) == '<span class="data-empty">(vazio)</span>'
    assert str(data_table(None)) == '<span class="data-empty">—</span>'
    deep = "leaf"
    for _ in range(DATA_MAX_DEPTH + 40):
        deep = {"k": [deep]}
    html = str(data_table(deep))
    # Past the depth limit the rest is compact, escaped JSON instead of ever deeper lists.
    assert html.count("<ul") + html.count("<ol") < 2 * DATA_MAX_DEPTH
    assert "<code>{&quot;k&quot;: [" in html and html.endswith("</table>")


def test_every_automation_labels_its_payload_fields():
    for automation in automations.all_automations().values():
        fields = automation.payload_serializer().fields
        assert list(automation.payload_labels)[:len(fields)] == list(fields), automation.kind
