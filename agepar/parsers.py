import orjson
from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from agepar.errors import PayloadTooLarge

UNREPRESENTABLE = ("O JSON enviado não pode ser aceito: aninhamento profundo demais ou texto com "
                   "caractere Unicode inválido (surrogate isolado, como \\ud800).")


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, bounded: the body's size (DATA_UPLOAD_MAX_MEMORY_SIZE, which DRF skips by
    reading straight from the socket), its nesting, and its text.

    Python's decoder accepts what the rest of the request cannot hold: `[` × 5000 (a few KB) raises
    RecursionError, and an escaped lone surrogate (`"\\ud800"`) becomes a str that no UTF-8 encoder,
    PostgreSQL or the renderer (agepar/renderers.py) accepts, so it would fail wherever it is next used
    or echoed, as a 500. Both are a 400 `parse_error` here, before a view sees the data: a body is kept
    only if the renderer could write it back (orjson refuses surrogates and more than 254 levels;
    integers past 64 bits are left to the validators).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        meta = parser_context["request"].META
        try:
            length = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if settings.DATA_UPLOAD_MAX_MEMORY_SIZE is not None and length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(UNREPRESENTABLE) from None
        try:
            orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)  # the common case, in C
        except orjson.JSONEncodeError:
            # orjson also refuses integers past 64 bits, which are valid JSON for the validators to
            # judge (a field error): only nesting and text make the body unacceptable.
            if not _acceptable(data):
                raise ParseError(UNREPRESENTABLE) from None
        return data


MAX_DEPTH = 128  # far beyond any body of the API; below orjson's 254, so what passes can be rendered


def _acceptable(data) -> bool:
    """No more than MAX_DEPTH levels, and every string (key or value) encodable as UTF-8."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return False
        elif isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                return False
            if isinstance(value, dict):
                pending.extend((key, depth) for key in value)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)
    return True
