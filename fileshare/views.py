"""Public share-link pages (/s/<token>).

Pages are plain Django views in Portuguese. Nothing here counts a download except the
conditional UPDATE in services.item_count_download, run before any byte is sent.
"""

from django.contrib.auth.hashers import check_password
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from fileshare import selectors, services
from fileshare.delivery import deliver, private
from fileshare.models import FileShareItem
from fileshare.throttle import PasswordAttempts


def _page(request: HttpRequest, template: str, status: int = 200, **context) -> HttpResponse:
    response = private(render(request, f"fileshare/{template}", context, status=status))
    # The password form posts back here: with no-referrer the browser would send "Origin: null",
    # which the CSRF check refuses. same-origin still keeps the token away from any other site.
    response["Referrer-Policy"] = "same-origin"
    return response


def _unavailable(request: HttpRequest) -> HttpResponse:
    return _page(request, "unavailable.html", 410)


def _live_item(request: HttpRequest, token: str) -> FileShareItem | HttpResponse:
    """The item of a live link, else the page to answer: 404 unknown, 410 gone."""
    item = selectors.item_by_token(token)
    if item is None:
        revoked = selectors.token_was_revoked(token)
        return _unavailable(request) if revoked else _page(request, "not_found.html", 404)
    if item.status != "live":
        return _unavailable(request)
    return item


def _share_page(request: HttpRequest, item: FileShareItem, token: str, status: int = 200,
                **context) -> HttpResponse:
    return _page(request, "share.html", status, item=item, action=reverse("fileshare-public-download", args=[token]),
                 remaining=None if item.max_downloads is None else item.max_downloads - item.downloads, **context)


@require_GET
def share_page(request: HttpRequest, token: str) -> HttpResponse:
    """Name, size, expiry and the download button. Counts nothing: link previews are harmless."""
    item = _live_item(request, token)
    return item if isinstance(item, HttpResponse) else _share_page(request, item, token)


@require_http_methods(["GET", "POST"])
def share_download(request: HttpRequest, token: str) -> HttpResponseBase:
    item = _live_item(request, token)
    if isinstance(item, HttpResponse):
        return item
    if item.has_password:
        if request.method != "POST":
            return private(redirect("fileshare-public", token=token))
        attempts = PasswordAttempts(request, token)
        if attempts.over_limit():
            services.record_download_denied(item=item, reason="throttled", request=request)
            response = _page(request, "throttled.html", 429)
            response["Retry-After"] = str(attempts.retry_after)
            return response
        if not check_password(request.POST.get("password", ""), item.password):
            services.record_download_denied(item=item, reason="wrong_password", request=request)
            return _share_page(request, item, token, 403, wrong_password=True)
        attempts.forgive()
    live = item  # the lambda sees this name narrowed
    delivered = deliver(live, take=lambda: services.item_count_download(item=live, request=request, via="public"))
    return delivered if delivered is not None else _unavailable(request)
