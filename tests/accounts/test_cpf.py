import pytest
from django.core.exceptions import ValidationError

from accounts.cpf import is_valid_cpf, normalize_cpf, validate_cpf


@pytest.mark.parametrize("value", ["529.982.247-25", "52998224725", "111.444.777-35", " 111.444.777-35 "])
def test_valid_numbers_pass_with_or_without_punctuation(value):
    assert is_valid_cpf(value)


@pytest.mark.parametrize("value", [
    "529.982.247-26",  # wrong second check digit
    "529.982.247-15",  # wrong first check digit
    "111.111.111-11",  # repeated digits pass the arithmetic but are not issued
    "000.000.000-00",
    "5299822472",      # too short
    "529982247250",    # too long
    "52998224a25",
    "",
])
def test_invalid_numbers_are_rejected(value):
    assert not is_valid_cpf(value)
    with pytest.raises(ValidationError):
        validate_cpf(value)


def test_normalize_strips_punctuation_only():
    assert normalize_cpf("529.982.247-25") == "52998224725"
