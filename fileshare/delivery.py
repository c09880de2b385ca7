"""Handing a shared file to whoever may have it: the public link and the owner's own download."""

import logging
from collections.abc import Callable
from typing import TypeVar

from django.http.response import HttpResponseBase

from agepar.downloads import attachment
from fileshare.models import FileShareItem

R = TypeVar("R", bound=HttpResponseBase)
log = logging.getLogger(__name__)


def private(response: R) -> R:
    # The token is in the URL: never leak it in a Referer, a shared cache or a search index.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def deliver(item: FileShareItem, *, take: Callable[[], bool]) -> HttpResponseBase | None:
    """The download response for `item`, or None when the blob is missing or `take()` (the counter,
    run once the blob is known to be there and before a byte is sent) refuses it."""
    try:
        response = attachment(item.storage_name, filename=item.original_name, content_type=item.content_type)
    except FileNotFoundError:
        log.error("fileshare: blob of item %s is missing", item.pk)
        return None
    if not take():
        response.close()  # the open blob
        return None
    return private(response)
