from django.conf import settings
from rest_framework import parsers

from agepar.errors import PayloadTooLarge


class JSONParser(parsers.JSONParser):
    """DRF reads JSON bodies straight from the socket, skipping DATA_UPLOAD_MAX_MEMORY_SIZE: enforce it here."""

    def parse(self, stream, media_type=None, parser_context=None):
        meta = parser_context["request"].META
        try:
            length = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if settings.DATA_UPLOAD_MAX_MEMORY_SIZE is not None and length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge
        return super().parse(stream, media_type, parser_context)
