"""Public share-link pages (/s/<token>) and the blob delivery shared with the owner API.

Pages are plain Django views in Portuguese. Nothing here counts a download except the
conditional UPDATE in services.item_count_download, run before any byte is sent.
"""

import contextlib
import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from agepar.request_info import client_ip
from fileshare import selectors, services
from fileshare.models import FileShareItem

log = logging.getLogger(__name__)


def _private(response):
    # The token is in the URL: never leak it in a Referer, a shared cache or a search index.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _page(request, template: str, status: int = 200, **context):
    response = _private(render(request, f"fileshare/{template}", context, status=status))
    # The password form posts back here: with no-referrer the browser would send "Origin: null",
    # which the CSRF check refuses. same-origin still keeps the token away from any other site.
    response["Referrer-Policy"] = "same-origin"
    return response


def _unavailable(request):
    return _page(request, "unavailable.html", 410)


def _live_item(request, token: str) -> tuple[FileShareItem | None, object]:
    """(the item, None) for a live link, else (None, the page to answer: 404 unknown, 410 gone)."""
    item = selectors.item_by_token(token)
    if item is None:
        revoked = selectors.token_was_revoked(token)
        return None, _unavailable(request) if revoked else _page(request, "not_found.html", 404)
    if item.status != "live":
        return None, _unavailable(request)
    return item, None


def _share_page(request, item: FileShareItem, token: str, status: int = 200, **context):
    return _page(request, "share.html", status, item=item, action=reverse("fileshare-public-download", args=[token]),
                 remaining=None if item.max_downloads is None else item.max_downloads - item.downloads, **context)


def _uses_presigned_urls(storage) -> bool:
    return hasattr(storage, "bucket_name") and getattr(storage, "querystring_auth", False)


def deliver(item: FileShareItem, *, take: Callable[[], bool]):
    """The download response for `item`, or None when `take()` (the counter) refuses it.

    Local files stream from disk through FileResponse; S3 answers with a short-lived
    presigned URL that carries the same Content-Disposition and Content-Type.
    """
    storage = default_storage
    if _uses_presigned_urls(storage):
        if not take():
            return None
        url = storage.url(item.storage_name, parameters={
            "ResponseContentDisposition": content_disposition_header(True, item.original_name),
            "ResponseContentType": item.content_type,
        })
        return _private(HttpResponseRedirect(url))
    try:
        blob = storage.open(item.storage_name, "rb")
    except FileNotFoundError:
        log.error("fileshare: blob of item %s is missing", item.pk)
        return None
    if not take():
        blob.close()
        return None
    response = FileResponse(blob, as_attachment=True, filename=item.original_name, content_type=item.content_type)
    return _private(response)


def _throttle_keys(request, token: str) -> list[tuple[str, int]]:
    return [
        (f"fileshare:pw:token:{services.hash_token(token)}", settings.FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN),
        (f"fileshare:pw:ip:{client_ip(request) or 'unknown'}", settings.FILESHARE_PASSWORD_ATTEMPTS_PER_IP),
    ]


def _attempt_over_limit(keys) -> bool:
    """Counts this password attempt under every key, then says whether any is over its limit.

    Counting before the (slow) password check closes the race where parallel guesses all read
    the old count and all get checked. Atomic with Redis; the database cache's incr is a
    read-then-write, which is why production runs CACHE_URL=redis://... (docs/scaling.md).
    """
    over = False
    for key, limit in keys:
        cache.add(key, 0, timeout=settings.FILESHARE_PASSWORD_WINDOW)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: start a new window
            cache.set(key, 1, timeout=settings.FILESHARE_PASSWORD_WINDOW)
            count = 1
        over = over or count > limit
    return over


def _forgive(keys) -> None:
    """A right password does not use up the allowance."""
    for key, _ in keys:
        with contextlib.suppress(ValueError):  # the window ended meanwhile: nothing to give back
            cache.decr(key)


@require_GET
def share_page(request, token: str):
    """Name, size, expiry and the download button. Counts nothing: link previews are harmless."""
    item, refusal = _live_item(request, token)
    return refusal or _share_page(request, item, token)


@require_http_methods(["GET", "POST"])
def share_download(request, token: str):
    item, refusal = _live_item(request, token)
    if refusal:
        return refusal
    if item.has_password:
        if request.method != "POST":
            return _private(redirect("fileshare-public", token=token))
        keys = _throttle_keys(request, token)
        if _attempt_over_limit(keys):
            services.record_download_denied(item=item, reason="throttled", request=request)
            response = _page(request, "throttled.html", 429)
            response["Retry-After"] = str(settings.FILESHARE_PASSWORD_WINDOW)
            return response
        if not check_password(request.POST.get("password", ""), item.password):
            services.record_download_denied(item=item, reason="wrong_password", request=request)
            return _share_page(request, item, token, 403, wrong_password=True)
        _forgive(keys)
    response = deliver(item, take=lambda: services.item_count_download(item=item, request=request, via="public"))
    return response if response is not None else _unavailable(request)
