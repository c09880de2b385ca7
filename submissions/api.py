"""Automations and submissions API (API.md): thin views over submissions.services and selectors."""

import json
import re

from django.conf import settings
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import ADMIN, has_role
from agepar.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from submissions import automations, delivery, selectors, services
from submissions.models import Submission
from submissions.payloads import json_schema

TAGS = ["submissions"]
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces


def missing_role() -> Forbidden:
    return Forbidden("Você não tem o papel necessário para esta automação.", code="missing_role")


# --- serializers ------------------------------------------------------------------------------------

class AutomationSerializer(serializers.Serializer):
    kind = serializers.CharField()
    version = serializers.CharField()
    title = serializers.CharField()
    payload_schema = serializers.JSONField(help_text="JSON Schema of the payload")


class ActorSerializer(serializers.Serializer):
    # The snapshot taken when the submission was made (what the person was called at the time).
    id = serializers.IntegerField(source="actor_id")
    nome = serializers.CharField(source="actor_nome")
    email = serializers.CharField(source="actor_email")
    cpf = serializers.CharField(source="actor_cpf", allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["cpf"] = data["cpf"] or None
        return data


class SubmissionSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    version = serializers.CharField()
    status = serializers.ChoiceField(choices=Submission.Status.choices)
    error = serializers.CharField()
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    actor = ActorSerializer(source="*")


class SubmissionSerializer(SubmissionSummarySerializer):
    payload = serializers.JSONField()
    result = serializers.JSONField(allow_null=True)


def summary_row(row: dict) -> dict:
    """SubmissionSummarySerializer's output for a `.values()` row, without its per-field cost
    (agepar/representation.py; tests/perf/test_representation.py holds them equal)."""
    return {
        "id": row["id"], "kind": row["kind"], "version": row["version"], "status": row["status"],
        "error": row["error"], "attempts": row["attempts"], "created_at": row["created_at"],
        "updated_at": row["updated_at"], "started_at": row["started_at"], "finished_at": row["finished_at"],
        "actor": {"id": row["actor_id"], "nome": row["actor_nome"], "email": row["actor_email"],
                  "cpf": row["actor_cpf"] or None},
    }


def full_row(row: dict) -> dict:
    return {**summary_row(row), "payload": row["payload"], "result": row["result"]}


def submission_body(submission: Submission) -> dict:
    """SubmissionSerializer's output for one instance (the create, detail and retry answers)."""
    return full_row({name: getattr(submission, name) for name in selectors.FULL_FIELDS})


class SubmissionCreateSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=64)
    payload = serializers.DictField(help_text="Validated by the automation's payload_schema (GET /api/automations).")


class SubmissionFilterSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["own", "all"], default="own")
    # Named like a Serializer attribute; DRF's metaclass moves declared fields off the class.
    fields = serializers.ChoiceField(choices=["summary", "full"], default="summary")  # type: ignore[assignment]
    kind = serializers.CharField(max_length=64, required=False)
    status = serializers.ChoiceField(choices=Submission.Status.values, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


# --- views ---------------------------------------------------------------------------------------

class AutomationListApi(APIView):
    @extend_schema(tags=TAGS, responses=AutomationSerializer(many=True),
                   summary="Automations the caller may run, with the JSON Schema of their payload")
    def get(self, request):
        data = [{"kind": a.kind, "version": a.version, "title": a.title,
                 "payload_schema": json_schema(a.payload_serializer())}
                for a in automations.all_automations().values() if a.allowed(request.user)]
        return Response(AutomationSerializer(data, many=True).data)


def _idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise InvalidInput({"Idempotency-Key": ["Use de 1 a 128 caracteres ASCII visíveis."]})
    return key


class SubmissionListCreateApi(GenericAPIView):
    serializer_class = SubmissionSerializer
    queryset = Submission.objects.none()  # schema generation only; get() reads through the selector

    @extend_schema(
        tags=TAGS, summary="The caller's submissions (scope=all for admin/controle/auditor), newest first",
        parameters=[SubmissionFilterSerializer],
        responses=SubmissionSummarySerializer(many=True),  # fields=full adds payload and result
        description="Without `fields=full` the items carry no `payload` and `result`.",
    )
    def get(self, request):
        filters = SubmissionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        all_actors = params["scope"] == "all"
        if all_actors and not selectors.can_see_all(request.user):
            raise Forbidden("Apenas admin, controle e auditor podem ver todas as submissões.", code="missing_role")
        full = params["fields"] == "full"
        qs = selectors.submission_list(
            user=request.user, all_actors=all_actors, full=full, kind=params.get("kind"),
            status=params.get("status"), created_after=params.get("created_after"),
            created_before=params.get("created_before"),
        )
        page = self.paginate_queryset(qs)
        build = full_row if full else summary_row
        return self.get_paginated_response([build(row) for row in page])

    def initial(self, request, *args, **kwargs):
        # Before authentication: its CSRF check parses the body, which is exactly what a huge one must avoid.
        if request.method == "POST":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.SUBMISSIONS_MAX_PAYLOAD_SIZE:
                raise PayloadTooLarge
        super().initial(request, *args, **kwargs)

    @extend_schema(
        tags=TAGS, summary="Run an automation",
        request=SubmissionCreateSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                     description="Retrying with the same key returns the first submission (200).")],
        responses={201: SubmissionSerializer, 200: SubmissionSerializer,
                   400: OpenApiResponse(description="Invalid kind or payload (field errors in `errors`)"),
                   403: OpenApiResponse(description="Missing role for this automation"),
                   409: OpenApiResponse(description="Idempotency-Key reused for another request "
                                                    "(`idempotency_key_reused`), or a live submission of this kind has "
                                                    "the same unique field, e.g. the DFD's protocolo (`duplicate`)"),
                   413: OpenApiResponse(description="Payload too large")},
    )
    def post(self, request):
        key = _idempotency_key(request)
        body = SubmissionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        kind = body.validated_data["kind"]
        automation = services.automation_for(kind)
        if not automation.allowed(request.user):
            raise missing_role()
        payload = automation.payload_serializer(data=body.validated_data["payload"])
        if not payload.is_valid():
            raise InvalidInput({"payload": payload.errors})
        document = payload.data  # JSON-ready (dates as YYYY-MM-DD)
        if len(json.dumps(document, ensure_ascii=False).encode()) > settings.SUBMISSIONS_MAX_PAYLOAD_SIZE:
            raise PayloadTooLarge
        outcome = services.submission_create(actor=request.user, kind=kind, payload=dict(document),
                                             idempotency_key=key, request=request)
        return Response(submission_body(outcome.submission),
                        status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)


def _visible(request, pk) -> Submission:
    submission = selectors.submission_for(user=request.user, submission_id=pk)
    if submission is None:
        raise NotFound()
    return submission


class SubmissionDetailApi(APIView):
    @extend_schema(tags=TAGS, summary="One submission", responses=SubmissionSerializer)
    def get(self, request, pk: int):
        return Response(submission_body(_visible(request, pk)))

    @extend_schema(tags=TAGS, summary="Withdraw a submission (its author, or the admin role)", request=None,
                   responses={204: None,
                              403: OpenApiResponse(description="Visible to the caller but not theirs to delete"),
                              409: OpenApiResponse(description="The submission is running (`running`)")})
    def delete(self, request, pk: int):
        submission = _visible(request, pk)
        if not selectors.can_delete(request.user, submission):
            raise Forbidden("Só o autor ou o papel admin podem excluir esta submissão.", code="missing_role")
        services.submission_delete(submission=submission, actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubmissionRetryApi(APIView):
    @extend_schema(tags=TAGS, summary="Queue a failed submission again", request=None,
                   responses={200: SubmissionSerializer,
                              409: OpenApiResponse(description="Only a submission in `error` can be retried"),
                              429: OpenApiResponse(description="Sooner than the backoff after the previous retry "
                                                               "allows (`retry_too_soon`, with Retry-After)")})
    def post(self, request, pk: int):
        submission = _visible(request, pk)
        automation = automations.get(submission.kind)
        if automation is None:
            raise Conflict("Esta automação não está mais disponível.", code="automation_unavailable")
        # The author retries while they still hold the role; the admin role may retry anyone's.
        mine = submission.actor_id == request.user.pk
        if not (has_role(request.user, ADMIN) or (mine and automation.allowed(request.user))):
            raise missing_role()
        submission = services.submission_retry(submission=submission, actor=request.user, request=request)
        return Response(submission_body(submission))


def _done(request, pk) -> Submission:
    submission = _visible(request, pk)
    if submission.status != Submission.Status.DONE:
        raise Conflict("O resultado só fica disponível quando a submissão está concluída.", code="not_done")
    return submission


def _file_download(request, submission: Submission, file) -> HttpResponseBase:
    response = delivery.file_response(submission, file, request=request)
    if response is None:
        raise NotFound("O arquivo não está mais disponível.")
    return response


class SubmissionFileApi(APIView):
    @extend_schema(tags=TAGS, summary="Download one file of the result (an attachment; on S3 a presigned redirect)",
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                              302: OpenApiResponse(description="S3: redirect to a short-lived presigned URL"),
                              404: OpenApiResponse(description="No such submission or file"),
                              409: OpenApiResponse(description="The submission is not done")})
    def get(self, request, pk: int, name: str):
        submission = _done(request, pk)
        file = selectors.submission_file(submission=submission, name=name)
        if file is None:
            raise NotFound("Arquivo não encontrado.")
        return _file_download(request, submission, file)


class SubmissionResultApi(APIView):
    @extend_schema(tags=TAGS, summary="Download the result: the JSON, or the file when the run produced exactly one",
                   responses={(200, "application/json"): OpenApiTypes.OBJECT,
                              409: OpenApiResponse(description="The submission is not done")})
    def get(self, request, pk: int):
        submission = _done(request, pk)
        files = list(submission.files.order_by("id")[:2])
        if len(files) == 1:
            return _file_download(request, submission, files[0])
        return delivery.result_json_response(submission)

