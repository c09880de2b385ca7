"""DRF wiring shared by every app: pagination and errors."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: constant cost on any page, stable while rows are inserted.

    Views order by a unique, indexed, monotonic column (normally `-id`) so the cursor
    never needs an offset.
    """

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # DRF checks that the cursor decodes, not that its position fits the ordering column: a forged
        # `p=abc` would reach `filter(id__lt="abc")` and fail with a 500.
        if cursor is not None and cursor.position is not None:
            try:
                int(cursor.position)
            except (TypeError, ValueError):
                raise exceptions.NotFound(self.invalid_cursor_message) from None
        return cursor


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A operação não é permitida no estado atual."
    default_code = "conflict"


class Gone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "O recurso não está mais disponível."
    default_code = "gone"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "O conteúdo enviado é grande demais."
    default_code = "too_large"


class InsufficientStorage(exceptions.APIException):
    status_code = status.HTTP_507_INSUFFICIENT_STORAGE
    default_detail = "Sem espaço para armazenar o arquivo. Tente novamente mais tarde."
    default_code = "insufficient_storage"


def _first_code(codes):
    while isinstance(codes, (list, tuple)) and codes:
        codes = codes[0]
    if isinstance(codes, dict):
        return "invalid"
    return codes if isinstance(codes, str) else "error"


def exception_handler(exc, context):
    """Every API error as {"detail": str, "code": str} (+ "errors" per field for validation)."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        codes = exc.get_codes()
        response.data = {
            "detail": "Dados inválidos.",
            "code": _first_code(list(codes.values())[0] if isinstance(codes, dict) and codes else codes),
            "errors": errors,
        }
        return response
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = _first_code(exc.get_codes()) if isinstance(exc, exceptions.APIException) else "error"
    if isinstance(detail, dict):  # an APIException raised with a dict carries its own code
        code = str(detail.get("code", code))
        detail = detail.get("detail", "")
    response.data = {"detail": str(detail), "code": code}
    return response


def error_response(detail: str, code: str, status_code: int, **extra) -> Response:
    """For the rare view that answers an error without raising (e.g. streaming endpoints)."""
    return Response({"detail": detail, "code": code, **extra}, status=status_code)


class ErrorSerializer(serializers.Serializer):
    """The body of every API error (documentation only: `exception_handler` builds it)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.JSONField()), required=False,
                                   help_text="Validation errors by field (`non_field_errors` for the whole body).")
