"""form2json accepts what the old portal's front end sends: its blank "add item" rows are dropped and
descriptions trimmed, while the stricter typing stays."""

import pytest

from submissions.models import Submission
from tests.submissions.helpers import payload_error_fields

# The old portal's sample form as its front end posts it: one filled row, the row its
# "+ Adicionar item" button adds (itemShape {"descricao": "", "quantidade": 1}), a row of blanks.
OLD_PORTAL_FORM = {
    "nome": "Maria da Silva",
    "email": "maria.silva@agepar.go.gov.br",
    "departamento": "AGEPAR",
    "prioridade": "baixa",
    "data": "2025-03-14",
    "aceitaTermos": True,
    "itens": [
        {"descricao": "  Resma de papel A4  ", "quantidade": 10},
        {"descricao": "", "quantidade": 1},
        {"descricao": "   ", "quantidade": 0},
    ],
}


def test_old_portal_sample_form_is_accepted_without_its_blank_rows(owner_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/api/submissions", {"kind": "form2json", "payload": OLD_PORTAL_FORM},
                                     format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["payload"]["itens"] == [{"descricao": "Resma de papel A4", "quantidade": 10}]
    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.status == "done"
    assert submission.result["itens"] == [{"descricao": "Resma de papel A4", "quantidade": 10}]


@pytest.mark.parametrize("rows", [
    [{"quantidade": 1}],                      # no description at all
    [{"descricao": None, "quantidade": 1}],
    [{"descricao": "\t\n", "quantidade": "abc"}],  # a blank row's other cells do not matter
])
def test_blank_rows_alone_make_an_empty_list(owner_client, form, rows):
    form["itens"] = rows
    response = owner_client.post("/api/submissions", {"kind": "form2json", "payload": form}, format="json")
    assert response.status_code == 201 and response.json()["payload"]["itens"] == []


@pytest.mark.parametrize("row", [
    {"descricao": 123, "quantidade": 1},       # a description must be text
    {"descricao": "Mesa", "quantidade": "1"},  # filled rows keep the strict types
    {"descricao": "Mesa", "quantidade": 0},
    "Mesa",                                    # a row must be an object
])
def test_rows_that_are_not_blank_are_still_checked(owner_client, form, row):
    form["itens"] = [row, {"descricao": "", "quantidade": 1}]
    response = owner_client.post("/api/submissions", {"kind": "form2json", "payload": form}, format="json")
    assert response.status_code == 400 and "itens" in payload_error_fields(response)
    assert not Submission.objects.exists()
