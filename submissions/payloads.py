"""Building blocks for automation payload serializers: strict JSON fields and their JSON Schema.

DRF's fields coerce (123 → "123", "yes" → True); a payload is JSON typed by the client, so a
wrong type is an error, not something to guess at.
"""

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Informe um texto."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data).lower()


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Informe true ou false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Informe um número inteiro."}

    def to_internal_value(self, data):
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
        if not isinstance(value, str):
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
    """JSON Schema (draft 2020-12 subset) of a serializer or field, for GET /api/automations."""
    if isinstance(field, serializers.ListSerializer):
        schema = {"type": "array", "items": json_schema(field.child)}
        if field.min_length is not None:
            schema["minItems"] = field.min_length
        if field.max_length is not None:
            schema["maxItems"] = field.max_length
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
    if isinstance(field, serializers.BooleanField):
        return {"type": "boolean"}
    if isinstance(field, serializers.IntegerField):
        return _bounds({"type": "integer"}, field.min_value, field.max_value)
    if isinstance(field, serializers.FloatField):
        return _bounds({"type": "number"}, field.min_value, field.max_value)
    if isinstance(field, serializers.DateField):
        return {"type": "string", "format": "date"}
    if isinstance(field, serializers.ChoiceField):
        return {"type": "string", "enum": list(field.choices)}
    if isinstance(field, serializers.CharField):
        schema = {"type": "string"}
        if isinstance(field, serializers.EmailField):
            schema["format"] = "email"
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
        if not field.allow_blank:
            schema["minLength"] = max(field.min_length or 0, 1)
        elif field.min_length:
            schema["minLength"] = field.min_length
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
