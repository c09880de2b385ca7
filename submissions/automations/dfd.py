"""DFD: the Documento de Formalização da Demanda, as a DOCX from `dfd.docx` (beside this module) and
its PDF (LibreOffice), for the `compras` role.

The payload's fields and rules are those of the old portal's DFD (apps/bff/app/automations/dfd.py,
v2.6.0); two live DFDs never share a `protocolo` (409, decided by a unique index: see
Submission.unique_key). The template is a Word document with docxtpl (Jinja) tags: `{{ numero }}`,
`{{ assunto }}` (already "DFD - PCA <ano> - <assunto>"), `{{ protocolo }}`, `{{ data }}`,
`{{ diretoria_demandante }}`, `{{ alinhamento_pe }}`, `{{ justificativa_necessidade }}`,
`{{ justificativa_inclusao_item }}`, `{{ objeto }}`, `{{ prazos_envolvidos }}`,
`{{ consequencia_nao_aquisicao }}`, `{{ grau_prioridade }}`, `{{ total_geral }}`, `{{ engine }}`,
`{{ gerado_em }}`, and a table row `{%tr for item in itens %}` with `item.descricao`,
`item.dependencia`, `item.renovacaoContrato`, `item.quantidade`, `item.unidadeMedida`,
`item.valor_unitario`, `item.valor_total` (amounts already written as "R$ 1.234,56").

Deliberate differences from the old portal:
- one template, shipped in the repository (`modeloSlug` chooses among TEMPLATES, default
  "agepar"); the old one read per-directorate templates from a folder on the server;
- the PDF is part of the result: without a converter the run ends in `error` saying so (the old
  one silently delivered only the DOCX); a converter that fails or hangs is a passing failure,
  tried again with backoff;
- `protocolo` is unique among live DFDs, compared without case or extra spaces, by a unique
  index (the old one ran a check-then-insert on the exact text); withdrawing a DFD frees its
  protocolo. The memorandum `numero` is not unique (the old one refused a repeated number from
  any directorate, which directorates numbering their own memoranda run into);
- the capacitação variant (`tipo: "capacitacao"`, `capEventos`, `capCursos`) is not supported:
  those keys are refused as unknown fields; `tipo` may only be "padrao";
- `justificativaInclusaoItem` is accepted whenever sent (the old one kept it only while the
  DFD_REAJUSTE_PCA_ACTIVE flag was on, and then required it); no `reajustePcaAtivo` flag;
- items: `quantidade` is an integer of at least 1 (the old one accepted 0), amounts are JSON
  numbers (not text), at most MAX_ITEMS items; `valorTotal` is accepted and ignored: it is
  always quantidade × valorUnitario, rounded to cents (as the old one recomputed it);
- texts are trimmed and keep their line breaks; every value is escaped in the document.

Every rule is published in `payload_schema` (the fields' own, and `extend_json_schema` for the
cross-field ones) but one: a repeated objective in `alinhamentoPE` (by its numbers, or the same line
in any case) cannot be stated in JSON Schema; its description says so.
"""

import re
from pathlib import Path

from django.utils import timezone
from rest_framework import serializers

from submissions import documents
from submissions.automations import Result, ResultFile
from submissions.payloads import END, NOT_BLANK, StrictCharField, StrictIntegerField, StrictNumberField
from submissions.payloads import PayloadSerializer as BasePayload

KIND = "dfd"
VERSION = "2.6.0"
TITLE = "DFD — Documento de Formalização da Demanda"
REQUIRED_ROLES = ("compras",)
TIMEOUT = 300
MAX_RESULT_SIZE = 20 * 1024**2
UNIQUE_FIELD = "protocolo"
DUPLICATE_MESSAGE = "Já existe um DFD com este protocolo."
RESULT_LABELS = {"total_geral": "Total geral (R$)"}
TEMPLATES = {"agepar": Path(__file__).with_suffix(".docx")}
MAX_ITEMS = 100
LONG_TEXT = 8000

UNIDADES = [
    "Caixa", "Caloria", "Cartela", "Cartucho", "Dose", "Dúzia", "Frasco", "Grama", "Kit", "Litro", "Mês", "Metro",
    "Metro cúbico", "Metro linear", "Metro quadrado", "Milheiro", "Miligrama", "Mililitro",
    "Outras Unidades de Medidas", "Par", "Quilograma", "Quilograma do peso drenado", "Quilômetro", "Rolo", "Teste",
    "Tubo", "Unidade Internacional", "Unitário",
]
PRIORIDADES = [
    "Alto, quando a impossibilidade de contratação provoca interrupção de processo crítico ou estratégico.",
    "Médio, quando a impossibilidade de contratação provoca atraso de processo crítico ou estratégico.",
    "Baixo, quando a impossibilidade de contratação provoca interrupção ou atraso de processo não crítico.",
    "Muito baixo, quando a continuidade do processo é possível mediante o emprego de uma solução de contorno.",
]
SIM_NAO = ["Sim", "Não"]
MESES = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
         "novembro", "dezembro")
PRAZO = re.compile(rf"^({'|'.join(MESES)}) de ([0-9]{{4}}){END}")
ANO = rf"^[0-9]{{4}}{END}"
OBJETIVO = re.compile(r"pilar\s*(\d+)\s*[-–]\s*objetivo\s*estrat[eé]gico\s*(\d+)", re.IGNORECASE)


def _text(label: str, max_length: int = LONG_TEXT, **kwargs) -> StrictCharField:
    return StrictCharField(label=label, max_length=max_length, **kwargs)


class ItemSerializer(BasePayload):
    descricao = _text("Descrição sucinta do objeto")
    haDependencia = serializers.ChoiceField(  # noqa: N815 (the portal's field names)
        label="Há vinculação ou dependência com a contratação de outro item?", choices=[*SIM_NAO, ""],
        required=False, allow_null=True, default="Não", help_text="Vazio vale 'Não'.")
    dependenciaQual = _text("Se 'Sim', descreva o vínculo", required=False, allow_blank=True, default="")  # noqa: N815
    renovacaoContrato = serializers.ChoiceField(label="Renovação de contrato", choices=SIM_NAO)  # noqa: N815
    quantidade = StrictIntegerField(label="Quantidade a ser adquirida", min_value=1, max_value=1_000_000_000)
    unidadeMedida = serializers.ChoiceField(label="Unidade de medida", choices=UNIDADES)  # noqa: N815
    valorUnitario = StrictNumberField(label="Estimativa de valor unitário (R$)", min_value=0,  # noqa: N815
                                      max_value=1_000_000_000_000)
    valorTotal = StrictNumberField(label="Estimativa de valor total (calculada)", required=False,  # noqa: N815
                                   allow_null=True, help_text="Ignorado: sempre quantidade × valor unitário.")

    def extend_json_schema(self, schema: dict) -> dict:
        schema["if"] = {"properties": {"haDependencia": {"const": "Sim"}}, "required": ["haDependencia"]}
        schema["then"] = {"properties": {"dependenciaQual": {"pattern": NOT_BLANK}}, "required": ["dependenciaQual"]}
        return schema

    def validate(self, attrs):
        attrs["haDependencia"] = attrs.get("haDependencia") or "Não"
        if attrs["haDependencia"] == "Sim" and not attrs.get("dependenciaQual"):
            raise serializers.ValidationError({"dependenciaQual": ["Descreva o vínculo quando houver dependência."]})
        attrs["valorTotal"] = round(attrs["quantidade"] * attrs["valorUnitario"], 2)
        return attrs


class PayloadSerializer(BasePayload):
    tipo = serializers.ChoiceField(label="Tipo de DFD", choices=["padrao"], required=False)
    modeloSlug = serializers.ChoiceField(label="Timbre", choices=list(TEMPLATES), required=False,  # noqa: N815
                                         default="agepar")
    numero = _text("Nº do Memorando", max_length=100)
    assunto = _text("Assunto", max_length=200)
    pcaAno = StrictCharField(label="Ano de execução do PCA", help_text="AAAA", max_length=4,  # noqa: N815
                             pattern=ANO, pattern_message="Informe o ano com 4 dígitos (ex.: 2026).")
    protocolo = _text("Protocolo", max_length=100, help_text="Único entre os DFDs não excluídos.")
    diretoriaDemandante = _text("Diretoria demandante", max_length=200)  # noqa: N815
    alinhamentoPE = _text("Alinhamento com o Planejamento Estratégico",  # noqa: N815
                          help_text="Um objetivo por linha, sem repetir objetivo.")
    justificativaNecessidade = _text("Justificativa da necessidade")  # noqa: N815
    justificativaInclusaoItem = _text("Justificativa para a inclusão do item", required=False,  # noqa: N815
                                      allow_blank=True, default="")
    objeto = _text("Objeto")
    prazosEnvolvidos = _text("Prazos envolvidos", max_length=30, help_text="'mês de AAAA', no ano do PCA",  # noqa: N815
                             pattern=PRAZO.pattern,
                             pattern_message="Use o formato 'mês de AAAA', em minúsculas (ex.: março de 2026).")
    consequenciaNaoAquisicao = _text("Consequência da não aquisição")  # noqa: N815
    grauPrioridade = serializers.ChoiceField(label="Grau de prioridade", choices=PRIORIDADES)  # noqa: N815
    # many=True makes a ListSerializer, which takes max_length (the stubs type the child's __init__).
    items = ItemSerializer(label="Itens", many=True, allow_empty=False, max_length=MAX_ITEMS)  # type: ignore[call-arg]

    def validate_protocolo(self, value):
        return " ".join(value.split())

    def validate_alinhamentoPE(self, value):  # noqa: N802
        lines = [line.strip() for line in value.splitlines() if line.strip()]
        seen = set()
        for line in lines:
            match = OBJETIVO.search(line)
            key = (int(match[1]), int(match[2])) if match else line.casefold()
            if key in seen:
                raise serializers.ValidationError("Não repita o mesmo objetivo estratégico.")
            seen.add(key)
        return "\n".join(lines)

    def extend_json_schema(self, schema: dict) -> dict:
        # "prazosEnvolvidos in the PCA's year", which JSON Schema cannot compare, digit by digit: when
        # pcaAno has digit d at position i, so must the year that ends prazosEnvolvidos.
        schema["allOf"] = [
            {"if": {"properties": {"pcaAno": {"pattern": f"^[0-9]{{{i}}}{d}"}}, "required": ["pcaAno"]},
             "then": {"properties": {"prazosEnvolvidos": {"pattern": f"{d}[0-9]{{{3 - i}}}{END}"}}}}
            for i in range(4) for d in range(10)]
        return schema

    def validate(self, attrs):
        if PRAZO.match(attrs["prazosEnvolvidos"])[2] != attrs["pcaAno"]:
            raise serializers.ValidationError(
                {"prazosEnvolvidos": [f"Os prazos devem estar no ano do PCA ({attrs['pcaAno']})."]})
        return attrs


def brl(value: float) -> str:
    """R$ 1.234,56."""
    return "R$ " + f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _file_base(submission, protocolo: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", protocolo).strip("-")[:80]
    return f"dfd-{submission.pk}-{slug}" if slug else f"dfd-{submission.pk}"


def run(payload: dict, submission) -> Result:
    now = timezone.localtime()
    items = payload["items"]
    total = round(sum(item["valorTotal"] for item in items), 2)
    assunto = f"DFD - PCA {payload['pcaAno']} - {payload['assunto']}"
    engine = f"{KIND}@{VERSION}"
    context = {
        "numero": payload["numero"], "assunto": assunto, "pca_ano": payload["pcaAno"],
        "protocolo": payload["protocolo"], "data": f"{now:%d/%m/%Y}",
        "diretoria_demandante": payload["diretoriaDemandante"], "alinhamento_pe": payload["alinhamentoPE"],
        "justificativa_necessidade": payload["justificativaNecessidade"],
        "justificativa_inclusao_item": payload.get("justificativaInclusaoItem", ""),
        "objeto": payload["objeto"], "prazos_envolvidos": payload["prazosEnvolvidos"],
        "consequencia_nao_aquisicao": payload["consequenciaNaoAquisicao"],
        "grau_prioridade": payload["grauPrioridade"],
        "itens": [{**item, "dependencia": item["haDependencia"] + (f": {item['dependenciaQual']}"
                                                                  if item["haDependencia"] == "Sim" else ""),
                   "valor_unitario": brl(item["valorUnitario"]), "valor_total": brl(item["valorTotal"])}
                  for item in items],
        "total_geral": brl(total), "engine": engine, "gerado_em": f"{now:%d/%m/%Y %H:%M}",
    }
    docx = documents.render_docx(TEMPLATES[payload.get("modeloSlug", "agepar")], context)
    pdf = documents.docx_to_pdf(docx)
    base = _file_base(submission, payload["protocolo"])
    return Result(
        data={"protocolo": payload["protocolo"], "assunto": assunto, "total_geral": total,
              "metadata": {"engine": engine, "geradoEm": now.isoformat(), "submissionId": submission.pk}},
        files=[ResultFile(f"{base}.pdf", documents.PDF, pdf), ResultFile(f"{base}.docx", documents.DOCX, docx)],
    )
