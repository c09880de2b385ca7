"""A password must not contain the person's CPF, e-mail (or its local part) or a part of their name.

Django's UserAttributeSimilarityValidator compares whole strings, so a long password with the
CPF inside it passes; this one looks for the pieces themselves.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError

MIN_PART = 4


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


class PersonalDataValidator:
    def validate(self, password, user=None):
        if user is None:
            return
        folded = _fold(password)
        digits = re.sub(r"\D", "", password or "")
        cpf = getattr(user, "cpf", None) or ""
        if cpf and cpf in digits:
            raise ValidationError("A senha não pode conter o seu CPF.", code="password_contains_cpf")
        email = _fold(getattr(user, "email", "") or "")
        local = email.split("@")[0]
        if email and (email in folded or (len(local) >= MIN_PART and local in folded)):
            raise ValidationError("A senha não pode conter o seu e-mail.", code="password_contains_email")
        for part in re.split(r"[\s.\-_]+", _fold(getattr(user, "nome", "") or "")):
            if len(part) >= MIN_PART and part in folded:
                raise ValidationError("A senha não pode conter o seu nome.", code="password_contains_name")

    def get_help_text(self):
        return "A senha não pode conter o seu CPF, e-mail ou nome."
