"""Handing a run's result to whoever may read it: the API and the admin give the same files and JSON."""

import json

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from agepar.downloads import attachment
from submissions import automations, services
from submissions.models import Submission, SubmissionFile


def file_response(submission: Submission, file: SubmissionFile, *, request: HttpRequest, via: str | None = None
                  ) -> HttpResponseBase | None:
    """The file as an attachment, its download in the trail; None when its blob is missing (nothing
    recorded then). `via` says which door it left by when that is not the API."""
    try:
        response = attachment(file.storage_name, filename=file.name, content_type=file.content_type)
    except FileNotFoundError:
        return None
    services.record_file_download(submission=submission, file=file, actor=request.user, request=request, via=via)
    return response


def result_json_response(submission: Submission) -> HttpResponse:
    """The JSON result as an attachment named by the automation (RESULT_FILENAME)."""
    automation = automations.get(submission.kind)
    filename = automation.result_filename(submission) if automation else f"{submission.kind}-{submission.pk}.json"
    response = HttpResponse(json.dumps(submission.result, ensure_ascii=False, indent=2).encode(),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
