"""form2json: turns the portal's sample request form into a normalised JSON document.

It accepts what the old portal's front end sends: item rows whose description is blank (its
"+ Adicionar item" row, sent as `{"descricao": "", "quantidade": 1}`) are dropped, as the old
portal dropped them, and descriptions are trimmed. Deliberate differences from the old portal
(apps/bff/app/automations/form2json.py):

- nome, email, departamento and data are required (the old one accepted null for each and
  produced a document of nulls); `aceitaTermos` must be true;
- values keep their JSON types: a quantity is an integer from 1 to 1,000,000 (the old one turned
  "abc" into 0 and accepted 0), a boolean is true/false, a date is AAAA-MM-DD (the old one took any
  text); an item row that is not an object, or whose description is not text, is a 400;
- unknown keys are refused with a field error (the old one ignored them silently);
- whitespace inside the texts is collapsed and the e-mail lower-cased in the result;
- the e-mail must be an ASCII address (`submissions.payloads.EMAIL`, published in the schema as its
  pattern; Django's validator, which also takes IDN domains, has no JSON Schema equivalent);
- at most MAX_ITEMS items (after the blank rows are dropped); the old one had no limit;
- the result's metadata names the submission, not the author's CPF and e-mail (they are on the
  submission itself, and a result file may travel further than the portal).
"""

from django.utils import timezone
from rest_framework import serializers

from submissions.payloads import (
    BLANK,
    StrictBooleanField,
    StrictCharField,
    StrictDateField,
    StrictEmailField,
    StrictIntegerField,
)
from submissions.payloads import (
    PayloadSerializer as BasePayload,
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
    # Named like a Serializer attribute; DRF's metaclass moves declared fields off the class.
    data = StrictDateField(label="Data", help_text="AAAA-MM-DD")  # type: ignore[assignment]
    aceitaTermos = StrictBooleanField(label="Aceita os termos", const=True,  # noqa: N815 (the portal's field name)
                                      const_message="É preciso aceitar os termos.")
    # many=True makes a ListSerializer, which takes max_length (the stubs type the child's __init__).
    itens = ItemSerializer(label="Itens", many=True, allow_empty=True, max_length=MAX_ITEMS,  # type: ignore[call-arg]
                           required=False, default=list)

    def to_internal_value(self, data):
        if isinstance(data, dict) and isinstance(data.get("itens"), list):
            data = {**data, "itens": [row for row in data["itens"] if not _blank_row(row)]}
        return super().to_internal_value(data)

    def extend_json_schema(self, schema: dict) -> dict:
        # Blank rows are dropped before validation (any other keys they carry are not looked at), and
        # MAX_ITEMS counts the rows that remain: `maxContains` counts exactly those.
        itens = schema["properties"]["itens"]
        item = itens["items"]
        blank_row = {"type": "object", "properties": {"descricao": {"anyOf": [{"type": "null"},
                                                                              {"type": "string", "pattern": BLANK}]}}}
        itens["items"] = {"anyOf": [item, blank_row]}
        itens["contains"], itens["minContains"], itens["maxContains"] = item, 0, itens.pop("maxItems")
        return schema


def _blank_row(row) -> bool:
    """The front end's empty "add item" row: an object whose description is missing or only blanks."""
    if not isinstance(row, dict):
        return False
    description = row.get("descricao")
    return description is None or (isinstance(description, str) and not description.strip())


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
