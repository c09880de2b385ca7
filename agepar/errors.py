"""The application's one error type: what services (and any other project code) raise.

An `AppError` carries what the caller is told: a `detail` in Portuguese, a stable machine `code`
and an HTTP `status`. Services raise it whichever door called them (API, admin, command,
worker); the API's exception handler (`agepar.api.exception_handler`) turns it into the
documented body `{"detail", "code"}` (+ `"errors"` for `InvalidInput`), the admin shows its
`detail`. Nothing here imports DRF: a service never depends on the HTTP framework.

Raise a subclass with a specific detail and code, e.g.
`raise Conflict("Só é possível reenfileirar uma submissão com erro.", code="invalid_state")`.
"""

from collections.abc import Mapping, Sequence
from typing import ClassVar

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError

# DRF's name for errors about the whole body; Django's forms and models say "__all__".
NON_FIELD = "non_field_errors"


class AppError(Exception):
    """An error the caller may see: `detail` (pt-BR), `code` (stable, for programs), `status` (HTTP)."""

    status: int = 400
    default_detail: ClassVar[str] = "Requisição inválida."
    default_code: ClassVar[str] = "bad_request"

    def __init__(self, detail: str | None = None, code: str | None = None, *, status: int | None = None):
        self.detail = str(detail) if detail is not None else self.default_detail
        self.code = code or self.default_code
        if status is not None:
            self.status = status
        super().__init__(self.detail)

    def body(self) -> dict[str, object]:
        return {"detail": self.detail, "code": self.code}

    def headers(self) -> dict[str, str]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r}, code={self.code!r}, status={self.status})"


class InvalidInput(AppError):
    """400 with the messages per field: `{"detail", "code", "errors": {field: [message, ...]}}`."""

    default_detail = "Dados inválidos."
    default_code = "invalid"

    def __init__(self, errors: Mapping[str, object], code: str | None = None, *, detail: str | None = None):
        super().__init__(detail, code)
        self.errors = dict(errors)

    def body(self) -> dict[str, object]:
        return {**super().body(), "errors": self.errors}

    @classmethod
    def from_django(cls, exc: DjangoValidationError) -> "InvalidInput":
        """Django's ValidationError (model `clean()`, validators, forms) in the API's shape."""
        if hasattr(exc, "error_dict"):
            by_field: Mapping[str, Sequence[DjangoValidationError]] = exc.error_dict
        else:
            by_field = {NON_FIELD: exc.error_list}
        errors = {NON_FIELD if field == NON_FIELD_ERRORS else field: [m for e in found for m in e.messages]
                  for field, found in by_field.items()}
        first = next(iter(by_field.values()), [])
        code = next((e.code for e in first if e.code), None)
        return cls(errors, code)


class NotFound(AppError):
    status = 404
    default_detail = "Não encontrado."
    default_code = "not_found"


class Forbidden(AppError):
    status = 403
    default_detail = "Você não tem permissão para executar essa ação."
    default_code = "permission_denied"


class Conflict(AppError):
    status = 409
    default_detail = "A operação não é permitida no estado atual."
    default_code = "conflict"


class Gone(AppError):
    status = 410
    default_detail = "O recurso não está mais disponível."
    default_code = "gone"


class RequestTimeout(AppError):
    status = 408
    default_detail = "O conteúdo enviado demorou demais para chegar."
    default_code = "body_timeout"


class PayloadTooLarge(AppError):
    status = 413
    default_detail = "O conteúdo enviado é grande demais."
    default_code = "too_large"


class UnsupportedMediaType(AppError):
    status = 415
    default_detail = "Tipo de conteúdo não suportado."
    default_code = "unsupported_media_type"


class Throttled(AppError):
    """429 with `Retry-After: retry_after` (seconds)."""

    status = 429
    default_detail = "Muitas tentativas. Tente novamente mais tarde."
    default_code = "throttled"

    def __init__(self, detail: str | None = None, code: str | None = None, *, retry_after: int):
        super().__init__(detail, code)
        self.retry_after = max(1, int(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class InsufficientStorage(AppError):
    status = 507
    default_detail = "Sem espaço para armazenar o arquivo. Tente novamente mais tarde."
    default_code = "insufficient_storage"
