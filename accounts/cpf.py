"""CPF (Cadastro de Pessoas Físicas): 11 digits, the last two are check digits (python-stdnum checks them)."""

import re

from django.core.exceptions import ValidationError
from stdnum.br import cpf as stdnum_cpf

_PUNCTUATION = re.compile(r"[.\-\s]")
# `123.456.789-09`: the longest way people type one (forms accept it; the database keeps 11 digits).
CPF_TYPED_MAX = 14


def normalize_cpf(value: str) -> str:
    """`123.456.789-09` → `12345678909`; anything else is returned stripped, for the validator to judge."""
    return _PUNCTUATION.sub("", value or "")


def is_valid_cpf(value: str) -> bool:
    digits = normalize_cpf(value)
    # Eleven equal digits pass the check-digit test but are no one's CPF (the Receita never issues them).
    return len(digits) == 11 and digits != digits[0] * 11 and stdnum_cpf.is_valid(digits)


def format_cpf(digits: str) -> str:
    """`52998224725` → `529.982.247-25`, as people read it."""
    return stdnum_cpf.format(digits)


def validate_cpf(value: str) -> None:
    if not is_valid_cpf(value):
        raise ValidationError("CPF inválido.", code="invalid_cpf")
