"""DRF wiring shared by every app: pagination and errors."""

from base64 import b64decode, b64encode
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast
from urllib import parse

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connections
from django.db.models import DateTimeField, F, Field, Func, Q, Value
from django.db.models.lookups import GreaterThan, LessThan
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from agepar import errors
from agepar.body_deadline import timed_out


class _Row(Func):
    """A row value `(a, b, ...)`. PostgreSQL and SQLite (3.15+) compare row values column by column,
    left to right, so `(created_at, id) < (%s, %s)` is exactly "before this row in that order", and
    PostgreSQL turns it into an index condition: the scan starts at the cursor instead of filtering
    every row before it."""

    function = ""
    output_field = Field()


class _PaddedTime(Func):
    """SQLite: a datetime's text padded with zeros to the one shape `YYYY-MM-DD HH:MM:SS.ffffff`."""

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} || SUBSTR('.000000', LENGTH({sql}) - 18))", (*params, *params)


def _beyond(fields, position, before: bool, vendor: str) -> Q:
    """The rows after `position` in an ordering on `fields` (a descending one: `before`): `(a, b) < (x, y)`."""
    columns: list[F | Func] = [F(field.name) for field in fields]
    values: list[Value | Func] = [Value(value, output_field=field)
                                  for field, value in zip(fields, position, strict=True)]
    bound = Q()
    if vendor == "sqlite":
        # SQLite stores datetimes as text: Python writes `YYYY-MM-DD HH:MM:SS[.ffffff]`, the database's
        # Now() (AuditEvent.at's default) `YYYY-MM-DD HH:MM:SS.fff`, so a cursor's value (bound as
        # Python writes it) and the stored row of the same instant need not compare equal. Padded to
        # one shape they do; the padding hides the column from the index, so a plain bound on the first
        # column, a second wide to hold both shapes, gives SQLite its seek. ORDER BY stays on the raw
        # text (the index order): two rows of one instant stored in two shapes would be ordered by
        # shape, not id, and could be skipped at a page edge. The app never stores them so (each time
        # column has one writer); data imported next to Now()-written rows should use Now()'s shape.
        for i, field in enumerate(fields):
            if isinstance(field, DateTimeField):
                columns[i], values[i] = _PaddedTime(columns[i]), _PaddedTime(values[i])
        if isinstance(fields[0], DateTimeField):
            start = position[0].replace(microsecond=999_999 if before else 0)
            bound = Q(**{f"{fields[0].name}__{'lte' if before else 'gte'}": start})
    return Q((LessThan if before else GreaterThan)(_Row(*columns), _Row(*values))) & bound


def cursor_token(position, *, reverse: bool = False) -> str:
    """The opaque `cursor` value for the page after the row whose ordering values are `position`
    (with `reverse`, the page before it)."""
    tokens = [("r", "1")] if reverse else []
    querystring = parse.urlencode(tokens + [("p", str(value)) for value in position])
    return b64encode(querystring.encode("ascii")).decode("ascii")


def _keyset_fields(model, ordering) -> list:
    """The model fields of `ordering`, checked: a page condition on them must match exactly the rows after a cursor."""
    if not ordering or not all(isinstance(name, str) for name in ordering):
        raise ImproperlyConfigured(f"{model.__name__}: keyset pages need an ordering by column names, not {ordering}")
    if len({name.startswith("-") for name in ordering}) != 1:
        # One row-value comparison runs in one direction; mixed directions would need an OR per column.
        raise ImproperlyConfigured(f"{model.__name__}: keyset ordering {ordering} mixes directions")
    try:
        fields = [model._meta.pk if name.lstrip("-") == "pk" else model._meta.get_field(name.lstrip("-"))
                  for name in ordering]
    except FieldDoesNotExist as exc:
        raise ImproperlyConfigured(f"{model.__name__}: keyset ordering {ordering}: {exc}") from None
    if any(field.null or field.is_relation or not field.concrete for field in fields) or not fields[-1].unique:
        # NULLs never compare true, and without a unique last column ties at a page edge repeat or vanish.
        raise ImproperlyConfigured(f"{model.__name__}: keyset ordering {ordering} needs non-null local columns, "
                                   "the last one unique")
    return fields


def keyset_rows(queryset, *, size: int, position: Callable[[Any], tuple]) -> Iterator:
    """Every row of an ordered `queryset`, `size` at a time: each batch is one short query that starts
    after the last row (`position(row)` gives its ordering values). No cursor has to live between
    batches, which pgBouncer's transaction pooling would not keep (docs/scaling.md), and a long export
    holds no snapshot open on a replica."""
    ordering = queryset.query.order_by
    fields = _keyset_fields(queryset.model, ordering)
    vendor = connections[queryset.db].vendor
    batch = queryset
    while True:
        rows = list(batch[:size])
        yield from rows
        if len(rows) < size:
            return
        batch = queryset.filter(_beyond(fields, position(rows[-1]), ordering[0].startswith("-"), vendor))


def _position_value(field, text: str):
    value = field.to_python(text)
    field.run_validators(value)  # the column's range: a forged id past 2**63 is a 404, not a driver error
    if isinstance(value, datetime):
        if timezone.is_naive(value):  # the cursors handed out carry an offset; a naive one is forged
            raise ValueError(text)
        value = value.astimezone(UTC)  # OverflowError at the ends of the calendar
    return value


class TimeWindow(NamedTuple):
    """How a page on a time ordering is read near its edge first (CursorPagination.time_window)."""

    span: timedelta  # read the rows within `span` of the page's edge first
    first_edge: datetime  # the edge of the first page (a later page's edge is its cursor's time)
    earliest: datetime | None = None  # no row of the queryset is older: a bound there needs no second query


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination on every column of the queryset's ordering: one index seek on any page.

    The selector orders its queryset, e.g. `.order_by("-created_at", "-id")`: one direction, no
    nullable column, the last one unique (an unordered queryset gets `ordering`). A cursor holds that
    ordering's values for one row, and the page after it is
    `WHERE ... AND (created_at, id) < (%s, %s) ORDER BY created_at DESC, id DESC LIMIT n + 1`, which an
    index on (filter columns..., created_at, id) answers by seeking to the cursor and reading n + 1
    entries, deep pages as cheap as the first; equal timestamps are neither repeated nor skipped.
    DRF's own CursorPagination keeps only the first column and steps over ties with an offset.
    Parameters, links (`previous` walks the ordering backwards from the first row), the response
    and its schema are DRF's.

    A list whose ordering starts with a time can read each page near its edge first
    (`time_window`): on a table partitioned by that time, a literal bound lets the planner plan only
    the partitions it touches, where the cursor's row comparison prunes none.
    """

    ordering = ("-id",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_ordering(self, request, queryset, view):
        return tuple(queryset.query.order_by) or self.ordering

    def get_page_size(self, request):
        # DRF answers a malformed page_size with the default page, so a client never learns of its
        # mistake; here it is a 400 like every other bad parameter. Above the maximum it is capped (API.md).
        text = request.query_params.get(self.page_size_query_param)
        if text is None:
            return self.page_size
        digits = text.lstrip("0") if text.isascii() and text.isdigit() else ""
        if not digits:
            raise errors.InvalidInput({self.page_size_query_param: [
                f"Informe um número inteiro positivo (no máximo {self.max_page_size} por página)."]})
        return self.max_page_size if len(digits) > 9 else min(int(digits), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.fields = _keyset_fields(queryset.model, self.ordering)
        self.cursor = self.decode_cursor(request)
        reverse = self.cursor is not None and self.cursor.reverse
        # The page before a cursor is read walking the ordering backwards from it, then put back in order.
        queryset = queryset.order_by(*(_flip(name) for name in self.ordering) if reverse else self.ordering)
        if self.cursor is not None:
            before = self.ordering[0].startswith("-") != reverse
            queryset = queryset.filter(_beyond(self.fields, self.cursor.position, before,
                                               connections[queryset.db].vendor))
        rows = self._rows(queryset, self.page_size + 1, self.time_window(queryset, view), reverse)
        more = len(rows) > self.page_size
        self.page = rows[: self.page_size]
        if reverse:
            self.page.reverse()
        self.has_previous = more if reverse else self.cursor is not None
        self.has_next = True if reverse else more
        return self.page

    def time_window(self, queryset, view) -> TimeWindow | None:
        """None: every page is one query. A TimeWindow reads a page first from the rows within its
        span of the edge, then, when they do not fill it, from the rest; the ordering's first column
        must be a time."""
        return None

    def _rows(self, queryset, limit: int, window: TimeWindow | None, reverse: bool) -> list:
        """The first `limit` rows of `queryset`; with a window, read in two disjoint ranges of the time
        column: the rows on the edge's side of the bound all come first in the ordering, so near + far
        is the list one query would give."""
        if window is None:
            return list(queryset[:limit])
        column, descending = self.fields[0].name, self.ordering[0].startswith("-") != reverse
        # DRF's stubs type a position as one value; ours is the tuple of the ordering's values.
        edge = cast(tuple, self.cursor.position)[0] if self.cursor is not None else window.first_edge
        bound = edge - window.span if descending else edge + window.span
        if descending and window.earliest is not None and window.earliest >= bound:
            return list(queryset[:limit])  # the queryset's own lower bound is as near as the window's
        near, far = ("gte", "lt") if descending else ("lte", "gt")
        nearby = {f"{column}__{near}": bound}
        if self.cursor is not None:  # implied by the cursor's row comparison, but only a plain bound prunes
            nearby[f"{column}__{'lte' if descending else 'gte'}"] = edge
        rows = list(queryset.filter(**nearby)[:limit])
        if len(rows) < limit:
            rows += queryset.filter(**{f"{column}__{far}": bound})[: limit - len(rows)]
        return rows

    def get_next_link(self):
        if not self.has_next:
            return None
        if not self.page:  # nothing before the cursor any more: what follows is the list from its start
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self.encode_cursor(pagination.Cursor(offset=0, reverse=False, position=self._position(self.page[-1])))

    def get_previous_link(self):
        if not self.has_previous:
            return None
        # An empty page after a cursor (its rows were deleted) still leads back to the rows before it.
        position = self._position(self.page[0]) if self.page else self.cursor.position
        return self.encode_cursor(pagination.Cursor(offset=0, reverse=True, position=position))

    def encode_cursor(self, cursor):
        token = cursor_token(cursor.position, reverse=cursor.reverse)
        return replace_query_param(self.base_url, self.cursor_query_param, token)

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            tokens = parse.parse_qs(b64decode(encoded.encode("ascii"), validate=True).decode("ascii"),
                                    keep_blank_values=True, strict_parsing=True)
            reverse = tokens.pop("r", ["0"])
            texts = tokens.pop("p")
            if tokens or reverse not in (["0"], ["1"]) or len(texts) != len(self.fields):
                raise ValueError(encoded)
            position = tuple(_position_value(field, text) for field, text in zip(self.fields, texts, strict=True))
        except (KeyError, ValueError, OverflowError, ValidationError):
            # Undecodable, or values that do not fit the ordering's columns: forged or truncated.
            raise errors.NotFound(self.invalid_cursor_message) from None
        return pagination.Cursor(offset=0, reverse=reverse == ["1"], position=position)

    def _position(self, row) -> tuple:
        if isinstance(row, dict):  # a .values() queryset
            return tuple(row[field.attname] for field in self.fields)
        return tuple(getattr(row, field.attname) for field in self.fields)


def _flip(name: str) -> str:
    return name[1:] if name.startswith("-") else f"-{name}"


def _first_code(codes):
    while isinstance(codes, (list, tuple)) and codes:
        codes = codes[0]
    if isinstance(codes, dict):
        return "invalid"
    return codes if isinstance(codes, str) else "error"


def _as_app_error(exc: Exception) -> Exception:
    """Django's and DRF's validation errors, Http404 and Django's PermissionDenied as AppErrors."""
    if isinstance(exc, Http404):
        return errors.NotFound()
    if isinstance(exc, OSError) and timed_out(exc):
        return errors.RequestTimeout()
    if isinstance(exc, DjangoPermissionDenied):
        return errors.Forbidden()
    if isinstance(exc, ValidationError):
        return errors.InvalidInput.from_django(exc)
    if isinstance(exc, exceptions.ValidationError):
        found = exc.detail if isinstance(exc.detail, dict) else {errors.NON_FIELD: exc.detail}
        codes = exc.get_codes()
        return errors.InvalidInput(
            found, _first_code(list(codes.values())[0] if isinstance(codes, dict) and codes else codes))
    return exc


def flatten_errors(found, prefix: str = "") -> dict[str, list[str]]:
    """Validation errors as API.md documents them, `{field: [messages]}`, at any depth.

    DRF nests a nested serializer's errors as a dict (`{"payload": {"nome": [...]}}`) and a list
    serializer's as a list with one entry per item (`{}` for the valid ones); each nested field
    becomes a dotted path instead: `"payload.nome"`, `"payload.itens.1.descricao"`.
    """
    if isinstance(found, dict):
        items = ((str(key), value) for key, value in found.items())
    elif isinstance(found, (list, tuple)) and any(isinstance(item, (dict, list, tuple)) for item in found):
        items = ((str(index), value) for index, value in enumerate(found))
    else:  # the messages of one field: a list of strings, or a single one
        messages = found if isinstance(found, (list, tuple)) else [found]
        return {prefix or errors.NON_FIELD: [str(message) for message in messages]}
    flat: dict[str, list[str]] = {}
    for key, value in items:
        for path, messages in flatten_errors(value, f"{prefix}.{key}" if prefix else key).items():
            flat.setdefault(path, []).extend(messages)
    return flat


def exception_handler(exc, context):
    """Every API error as {"detail": str, "code": str} (+ "errors" per field for validation).

    AppErrors (agepar.errors) carry their own body, status and headers; DRF's own exceptions
    (authentication, method, parse, content negotiation) keep DRF's status and headers.
    """
    exc = _as_app_error(exc)
    if isinstance(exc, errors.AppError):
        set_rollback()  # as DRF does for its own errors: an ATOMIC_REQUESTS transaction must not commit
        body = exc.body()
        if isinstance(exc, errors.InvalidInput):
            body["errors"] = flatten_errors(exc.errors)
        return Response(body, status=exc.status, headers=exc.headers())
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = _first_code(exc.get_codes()) if isinstance(exc, exceptions.APIException) else "error"
    if isinstance(detail, dict):  # an APIException raised with a dict carries its own code
        code = str(detail.get("code", code))
        detail = detail.get("detail", "")
    response.data = {"detail": str(detail), "code": code}
    return response


class ErrorSerializer(serializers.Serializer):
    """The body of every API error (documentation only: `exception_handler` builds it)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    # Named like a Serializer attribute; DRF's metaclass moves declared fields off the class.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Validation messages by field: `{field: [messages]}`, one level only. A field inside "
                  "an object or list is named by its dotted path (`payload.nome`, `payload.itens.1.descricao`: "
                  "item 1, counted from 0); `non_field_errors` for the whole body.")
