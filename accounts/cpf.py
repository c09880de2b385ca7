"""CPF (Cadastro de Pessoas Físicas): 11 digits, the last two are check digits."""

import re

from django.core.exceptions import ValidationError

_PUNCTUATION = re.compile(r"[.\-\s]")


def normalize_cpf(value: str) -> str:
    """`123.456.789-09` → `12345678909`; anything else is returned stripped, for the validator to judge."""
    return _PUNCTUATION.sub("", value or "")


def _check_digit(digits: str) -> int:
    weight = len(digits) + 1
    total = sum(int(d) * (weight - i) for i, d in enumerate(digits))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def is_valid_cpf(value: str) -> bool:
    digits = normalize_cpf(value)
    if len(digits) != 11 or not digits.isdigit() or digits == digits[0] * 11:
        return False
    return _check_digit(digits[:9]) == int(digits[9]) and _check_digit(digits[:10]) == int(digits[10])


def validate_cpf(value: str) -> None:
    if not is_valid_cpf(value):
        raise ValidationError("CPF inválido.", code="invalid_cpf")
