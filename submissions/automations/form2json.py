"""form2json: turns the portal's sample request form into a normalised JSON document."""

from django.utils import timezone
from rest_framework import serializers

from submissions.payloads import (
    PayloadSerializer as BasePayload,
)
from submissions.payloads import (
    StrictBooleanField,
    StrictCharField,
    StrictDateField,
    StrictEmailField,
    StrictIntegerField,
)

KIND = "form2json"
VERSION = "1.0.0"
TITLE = "Formulário para JSON"
REQUIRED_ROLES = ("automations.form2json",)
MAX_ITEMS = 100


class ItemSerializer(BasePayload):
    descricao = StrictCharField(label="Descrição", max_length=500)
    quantidade = StrictIntegerField(label="Quantidade", min_value=1, max_value=1_000_000)


class PayloadSerializer(BasePayload):
    nome = StrictCharField(label="Nome", max_length=200)
    email = StrictEmailField(label="E-mail", max_length=254)
    departamento = StrictCharField(label="Departamento", max_length=120)
    prioridade = serializers.ChoiceField(label="Prioridade", choices=["baixa", "media", "alta"])
    data = StrictDateField(label="Data", help_text="AAAA-MM-DD")
    aceitaTermos = StrictBooleanField(label="Aceita os termos")  # noqa: N815 (the portal's field name)
    itens = ItemSerializer(label="Itens", many=True, allow_empty=True, max_length=MAX_ITEMS, required=False,
                           default=list)

    def validate_aceitaTermos(self, value):  # noqa: N802
        if not value:
            raise serializers.ValidationError("É preciso aceitar os termos.")
        return value


def _clean(text: str) -> str:
    return " ".join(text.split())


def run(payload: dict, submission) -> dict:
    """The document the old portal produced, with the fixes it lacked (whitespace, case, typed values)."""
    return {
        "nome": _clean(payload["nome"]),
        "email": payload["email"].strip().lower(),
        "departamento": _clean(payload["departamento"]),
        "prioridade": payload["prioridade"],
        "data": payload["data"],
        "aceitaTermos": payload["aceitaTermos"],
        "itens": [{"descricao": _clean(i["descricao"]), "quantidade": i["quantidade"]}
                  for i in payload.get("itens", [])],
        "metadata": {
            "engine": f"{KIND}@{VERSION}",
            "geradoEm": timezone.now().isoformat(),
            "submissionId": submission.pk,
        },
    }


def RESULT_FILENAME(submission) -> str:  # noqa: N802 (module-level declaration like KIND)
    return f"form2json-{submission.pk}.json"
