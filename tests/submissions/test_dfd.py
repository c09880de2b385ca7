"""The DFD automation: the old portal's payload rules, a unique protocolo (409, also under concurrency),
and the DOCX + PDF end to end with a real db_worker, on the filesystem and on S3 (moto server)."""

import copy
import io
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from docx import Document

from audits.models import AuditEvent
from bench.s3 import s3_env
from submissions import documents, results, tasks
from submissions.automations import dfd
from submissions.models import Submission, SubmissionFile
from tests.conftest import make_client
from tests.factories import UserFactory
from tests.submissions.helpers import at_once, db_worker, make_submission, payload_error_fields, wait_for
from tests.tools import require_tools

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
DFD = {
    "tipo": "padrao",
    "modeloSlug": "agepar",
    "numero": "12/2026",
    "assunto": "Aquisição de cadeiras ergonômicas",
    "pcaAno": "2026",
    "protocolo": "202600012000123",
    "diretoriaDemandante": "Diretoria de Administração e Finanças",
    "alinhamentoPE": ("Está alinhado ao Planejamento Estratégico da Agepar 2026-2029 – Pilar 1 - "
                      "Objetivo estratégico 2: Modernizar a gestão\n\n"
                      "Pilar 3 - Objetivo estratégico 1: Valorizar as pessoas"),
    "justificativaNecessidade": "As cadeiras atuais não atendem à NR-17.",
    "objeto": "Cadeiras de escritório com apoio lombar",
    "prazosEnvolvidos": "março de 2026",
    "consequenciaNaoAquisicao": "Afastamentos por problemas posturais.",
    "grauPrioridade": dfd.PRIORIDADES[1],
    "items": [
        {"descricao": "Cadeira ergonômica", "haDependencia": "", "dependenciaQual": "", "renovacaoContrato": "Não",
         "quantidade": 20, "unidadeMedida": "Unitário", "valorUnitario": 1234.5, "valorTotal": 0},
        {"descricao": "Apoio para os pés", "haDependencia": "Sim", "dependenciaQual": "Junto com as cadeiras",
         "renovacaoContrato": "Não", "quantidade": 20, "unidadeMedida": "Unitário", "valorUnitario": 99.9},
    ],
}


def dfd_payload(**changes) -> dict:
    return {**copy.deepcopy(DFD), **changes}


def needs_converter():
    """LibreOffice and pdftotext come from Debian (.ci/run installs them): CI fails without, a laptop skips."""
    require_tools("soffice", "pdftotext", installed_by="libreoffice-writer-nogui and poppler-utils")


@pytest.fixture
def buyer(db):
    return UserFactory(nome="Carlos Compras", roles=["compras"])


@pytest.fixture
def buyer_client(buyer, settings):
    settings.TASKS = DB_TASKS  # queued only: these tests do not run the (slow) conversion
    return make_client(buyer)


def create(client, payload):
    return client.post("/api/submissions", {"kind": "dfd", "payload": payload}, format="json")


# --- payload -------------------------------------------------------------------------------------

def test_a_valid_dfd_is_queued_with_its_payload_normalised(buyer_client):
    response = create(buyer_client, dfd_payload(protocolo="  2026 0001  "))
    assert response.status_code == 201, response.json()
    payload = response.json()["payload"]
    assert payload["protocolo"] == "2026 0001"
    assert payload["alinhamentoPE"].count("\n") == 1  # the blank line is dropped
    assert payload["items"][0]["haDependencia"] == "Não"  # blank means "Não", as in the old portal
    assert [i["valorTotal"] for i in payload["items"]] == [24690.0, 1998.0]  # recomputed, never trusted
    assert Submission.objects.get().unique_key == "2026 0001"


@pytest.mark.parametrize(("changes", "field"), [
    ({"protocolo": "   "}, "protocolo"),
    ({"pcaAno": "26"}, "pcaAno"),
    ({"prazosEnvolvidos": "Março de 2026"}, "prazosEnvolvidos"),
    ({"prazosEnvolvidos": "março de 2027"}, "prazosEnvolvidos"),  # not the PCA's year
    ({"grauPrioridade": "Alto"}, "grauPrioridade"),
    ({"alinhamentoPE": "Pilar 1 - Objetivo estratégico 2: a\npilar 1 – objetivo estrategico 2: b"}, "alinhamentoPE"),
    ({"items": []}, "items"),
    ({"items": [{**DFD["items"][0], "unidadeMedida": "Saco"}]}, "items"),
    ({"items": [{**DFD["items"][0], "haDependencia": "Sim"}]}, "items"),  # Sim needs dependenciaQual
    ({"items": [{**DFD["items"][0], "valorUnitario": "1234,50"}]}, "items"),
    ({"items": [{**DFD["items"][0], "quantidade": 0}]}, "items"),
    ({"tipo": "capacitacao"}, "tipo"),
    ({"capEventos": {"rows": []}}, "capEventos"),
    ({"modeloSlug": "../../etc"}, "modeloSlug"),
])
def test_invalid_payloads_are_400_and_write_nothing(buyer_client, changes, field):
    response = create(buyer_client, dfd_payload(**changes))
    assert response.status_code == 400
    assert field in payload_error_fields(response)
    assert not Submission.objects.exists()


def test_the_compras_role_is_required(other_client):
    response = create(other_client, dfd_payload())
    assert response.status_code == 403 and response.json()["code"] == "missing_role"


# --- unique protocolo ----------------------------------------------------------------------------

def test_a_second_dfd_with_the_same_protocolo_is_409(buyer_client, buyer):
    assert create(buyer_client, dfd_payload()).status_code == 201
    colleague = make_client(UserFactory(roles=["compras"]))
    response = create(colleague, dfd_payload(numero="13/2026", protocolo=" 202600012000123"))
    assert response.status_code == 409
    assert response.json() == {"detail": "Já existe um DFD com este protocolo.", "code": "duplicate"}
    assert Submission.objects.count() == 1
    refused = AuditEvent.objects.get(action="submission.created", status="failure")
    assert refused.details == {"reason": "duplicate", "field": "protocolo", "value": "202600012000123"}


def test_protocolo_is_compared_without_case(buyer_client):
    assert create(buyer_client, dfd_payload(protocolo="SEI-2026-AB")).status_code == 201
    assert create(buyer_client, dfd_payload(protocolo="sei-2026-ab")).status_code == 409


def test_a_withdrawn_dfd_frees_its_protocolo(buyer_client):
    first = create(buyer_client, dfd_payload()).json()
    assert buyer_client.delete(f"/api/submissions/{first['id']}").status_code == 204
    assert create(buyer_client, dfd_payload()).status_code == 201


def test_other_kinds_may_repeat_any_value(buyer, owner):
    # The unique key belongs to the automation that declares it; form2json declares none.
    make_submission(owner, payload={"protocolo": "x"})
    make_submission(owner, payload={"protocolo": "x"})
    assert Submission.objects.filter(unique_key__isnull=True).count() == 2


@pytest.mark.django_db(transaction=True)
def test_ten_dfds_with_one_protocolo_sent_at_once_make_one_submission(settings):
    settings.TASKS = DB_TASKS
    clients = [make_client(UserFactory(roles=["compras"])) for _ in range(10)]
    statuses = at_once(clients, lambda client: create(client, dfd_payload()).status_code)
    assert sorted(statuses) == [201] + [409] * 9
    assert Submission.objects.filter(kind="dfd").count() == 1
    assert AuditEvent.objects.filter(action="submission.created", status="failure").count() == 9


# --- documents -----------------------------------------------------------------------------------

def test_without_a_converter_the_run_ends_in_error_and_leaves_no_blob(buyer, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice, no libreoffice
    serializer = dfd.PayloadSerializer(data=dfd_payload())
    assert serializer.is_valid(), serializer.errors
    submission = make_submission(buyer, kind="dfd", payload=dict(serializer.data), version=dfd.VERSION)
    assert tasks.run_submission.call(submission.pk) == "error"
    row = Submission.objects.get(pk=submission.pk)
    assert (row.status, row.error) == ("error", documents.NO_CONVERTER)
    assert list(results.blob_names()) == [] and not SubmissionFile.objects.exists()


def test_the_template_escapes_what_users_type():
    docx = documents.render_docx(dfd.TEMPLATES["agepar"], {"numero": "<w:p>&</w:p>", "itens": []})
    assert "<w:p>&</w:p>" in "\n".join(p.text for p in Document(io.BytesIO(docx)).paragraphs)


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def docx_text(docx: bytes) -> str:
    document = Document(io.BytesIO(docx))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def download(client, url: str) -> bytes:
    response = client.get(url)
    if response.status_code == 302:  # S3: a presigned URL that S3 answers with the same headers
        query = parse_qs(urlsplit(response["Location"]).query)
        assert query["response-content-disposition"][0].startswith("attachment; filename=")
        fetched = requests.get(response["Location"], timeout=30)
        assert fetched.status_code == 200
        return fetched.content
    assert response.status_code == 200, response.content
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return b"".join(response.streaming_content)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("storage", ["filesystem", "s3"])
def test_dfd_end_to_end_with_a_real_worker(storage, request, tmp_path, settings):
    needs_converter()
    settings.TASKS = DB_TASKS
    worker_env = {}
    if storage == "s3":
        request.getfixturevalue("s3_storage")  # this process reads the bucket the worker writes
        worker_env = s3_env(request.getfixturevalue("s3_endpoint"))
    else:
        worker_env = {"UPLOAD_ROOT": settings.UPLOAD_ROOT}  # the worker writes where this process reads
    buyer = UserFactory(roles=["compras"])
    client = make_client(buyer)
    response = create(client, dfd_payload())
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]

    with db_worker(tmp_path, **{k: str(v) for k, v in worker_env.items()}) as worker:
        wait_for(lambda: Submission.objects.get(pk=pk).status in ("done", "error"), timeout=240,
                 what=f"the DFD to be generated ({worker.log_path})")
    submission = Submission.objects.get(pk=pk)
    assert submission.status == "done", (submission.error, worker.log_path.read_text()[-3000:])
    names = [f["name"] for f in submission.result["files"]]
    assert names == [f"dfd-{pk}-202600012000123.pdf", f"dfd-{pk}-202600012000123.docx"]
    assert submission.result["assunto"] == "DFD - PCA 2026 - Aquisição de cadeiras ergonômicas"

    pdf = download(client, f"/api/submissions/{pk}/files/{names[0]}")
    docx = download(client, f"/api/submissions/{pk}/files/{names[1]}")
    assert pdf.startswith(b"%PDF")
    assert "202600012000123" in pdf_text(pdf)
    text = docx_text(docx)
    assert "202600012000123" in text and "R$ 26.688,00" in text and "Sim: Junto com as cadeiras" in text
    assert create(client, dfd_payload()).status_code == 409  # the protocolo stays taken once done
