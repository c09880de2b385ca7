"""Building blocks for automation payload serializers: strict JSON fields and their JSON Schema.

DRF's fields coerce (123 → "123", "yes" → True); a payload is JSON typed by the client, so a
wrong type is an error, not something to guess at.
"""

import re
import sys
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

# The characters Python's str.isspace() and str.strip() treat as whitespace, spelled out so that a
# pattern means the same to ECMA-262 (browsers, most JSON Schema validators) and to Python: their `\s`
# classes differ (U+FEFF, U+001C-U+001F).
SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = f"[^{SPACE}]"
# The end of the text for both engines: Python's `$` also matches before a final newline.
END = r"(?![\s\S])"
BLANK = f"^[{SPACE}]*{END}"
# ASCII addresses only: Django's EmailValidator (IDN domains, quoted local parts, IP literals) has no
# JSON Schema equivalent, and the published schema must be exactly what is enforced.
_ATOM = r"[-!#$%&'*+/=?^_`{|}~0-9A-Za-z]+"
EMAIL = rf"^{_ATOM}(\.{_ATOM})*@([0-9A-Za-z]([-0-9A-Za-z]{{0,61}}[0-9A-Za-z])?\.)+[A-Za-z]{{2,63}}{END}"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?![\s\S])"


class StrictCharField(serializers.CharField):
    """A JSON string. Every rule is one the published JSON Schema states (`json_schema`): lengths are
    of the text as sent, a required text must hold a non-blank character, and `pattern` is matched as
    JSON Schema does (a search: anchor it); then the text is stripped."""

    default_error_messages = {"invalid": "Informe um texto.", "pattern": "Formato inválido."}

    def __init__(self, *, pattern: str | None = None, pattern_message: str | None = None, **kwargs):
        kwargs.setdefault("trim_whitespace", False)  # stripped after validation, so lengths are as sent
        super().__init__(**kwargs)
        self.pattern = pattern
        if pattern_message:
            self.error_messages["pattern"] = pattern_message

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)

    def run_validation(self, data=empty):
        value = super().run_validation(data)
        if isinstance(value, str):
            if self.pattern is not None:
                if not re.search(self.pattern, value):
                    self.fail("pattern")
            elif not self.allow_blank and not re.search(NOT_BLANK, value):
                self.fail("blank")
            value = value.strip()
        return value


class StrictEmailField(StrictCharField):
    default_error_messages = {"pattern": "Informe um endereço de e-mail válido."}

    def __init__(self, **kwargs):
        super().__init__(pattern=EMAIL, **kwargs)

    def run_validation(self, data=empty):
        value = super().run_validation(data)
        return value.lower() if isinstance(value, str) else value


class StrictBooleanField(serializers.BooleanField):
    """true or false; with `const`, only that value (published as JSON Schema `const`)."""

    default_error_messages = {"invalid": "Informe true ou false.", "const": "Valor não permitido."}

    def __init__(self, *, const: bool | None = None, const_message: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.const = const
        if const_message:
            self.error_messages["const"] = const_message

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        if self.const is not None and data is not self.const:
            self.fail("const")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer. 2.0 is one too: JSON Schema's "integer" is any number without a fraction."""

    default_error_messages = {"invalid": "Informe um número inteiro."}

    def to_internal_value(self, data):
        if isinstance(data, float) and data.is_integer():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictNumberField(serializers.FloatField):
    """A JSON number (integer or decimal); text, booleans, NaN and infinities are refused."""

    default_error_messages = {"invalid": "Informe um número."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDateField(serializers.DateField):
    default_error_messages = {"invalid": "Informe uma data no formato AAAA-MM-DD."}

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", input_formats=["%Y-%m-%d"], **kwargs)

    def to_internal_value(self, value):
        # strptime alone would take 2026-1-5; the schema's pattern and format "date" do not.
        if not isinstance(value, str) or not re.search(DATE, value):
            self.fail("invalid")
        return super().to_internal_value(value)


class PayloadSerializer(serializers.Serializer):
    """Base for automation payloads: unknown keys are refused rather than silently dropped."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["O conteúdo deve ser um objeto JSON."]},
                                              code="invalid")
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Campo desconhecido."] for name in unknown[:20]},
                                              code="unknown_field")
        return super().to_internal_value(data)


def json_schema(field) -> dict:
    """JSON Schema (draft 2020-12) of a serializer or field, for GET /api/automations.

    Exactly what the serializer enforces (tests/submissions/test_payload_schema.py holds every
    automation to it): a rule of a `validate()` that the fields cannot state is published by the
    serializer's `extend_json_schema`. `format` ("date") is meant as an assertion.
    """
    schema = _schema(field)
    if getattr(field, "allow_null", False) and not isinstance(field, serializers.ListSerializer):
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
        schema["type"] = [schema["type"], "null"]
    extend = getattr(field, "extend_json_schema", None)
    return extend(schema) if extend else schema


def _schema(field) -> dict:
    schema: dict[str, Any]
    if isinstance(field, serializers.ListSerializer):
        schema = {"type": "array", "items": json_schema(field.child)}
        # Set by ListSerializer.__init__; djangorestframework-stubs does not declare them.
        min_length, max_length = field.min_length, field.max_length  # type: ignore[attr-defined]
        if min_length is not None:
            schema["minItems"] = min_length
        if max_length is not None:
            schema["maxItems"] = max_length
        if not field.allow_empty:
            schema["minItems"] = max(schema.get("minItems", 0), 1)
        return schema
    if isinstance(field, serializers.Serializer):
        fields = {name: f for name, f in field.fields.items() if not f.read_only}
        schema = {"type": "object", "properties": {name: _with_meta(json_schema(f), f) for name, f in fields.items()},
                  "additionalProperties": False}
        required = [name for name, f in fields.items() if f.required]
        if required:
            schema["required"] = required
        return schema
    if isinstance(field, StrictBooleanField) and field.const is not None:
        return {"type": "boolean", "const": field.const}
    if isinstance(field, serializers.BooleanField):
        return {"type": "boolean"}
    if isinstance(field, serializers.IntegerField):
        return _bounds({"type": "integer"}, field.min_value, field.max_value)
    if isinstance(field, serializers.FloatField):
        # Without bounds of its own, a number must still fit a double: a larger one is refused (overflow).
        return _bounds({"type": "number"}, -sys.float_info.max if field.min_value is None else field.min_value,
                       sys.float_info.max if field.max_value is None else field.max_value)
    if isinstance(field, serializers.DateField):
        return {"type": "string", "format": "date", "pattern": DATE}
    if isinstance(field, serializers.ChoiceField):
        return {"type": "string", "enum": list(field.choices)}
    if isinstance(field, StrictCharField):
        schema = {"type": "string"}
        if isinstance(field, StrictEmailField):
            schema["format"] = "email"
        if field.min_length or not field.allow_blank:
            schema["minLength"] = max(field.min_length or 0, 0 if field.allow_blank else 1)
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
        if field.pattern is not None:
            schema["pattern"] = field.pattern
        elif not field.allow_blank:
            schema["pattern"] = NOT_BLANK
        schema["not"] = {"pattern": "\\x00"}  # DRF refuses NUL in any text
        return schema
    raise TypeError(f"no JSON Schema mapping for {type(field).__name__}")


def _bounds(schema, minimum, maximum):
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def _with_meta(schema: dict, field) -> dict:
    if field.label:
        schema["title"] = str(field.label)
    if field.help_text:
        schema["description"] = str(field.help_text)
    return schema
