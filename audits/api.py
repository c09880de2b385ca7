
from django.db import connections
from django.utils import timezone
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasRole
from accounts.roles import OVERSIGHT
from agepar.api import CursorPagination, ErrorSerializer, TimeWindow
from agepar.csv_export import csv_download
from agepar.errors import NotFound
from agepar.representation import text_or_none
from audits import partitions, selectors
from audits.encoding import instant
from audits.models import AuditEvent


class AuditFilterSerializer(serializers.Serializer):
    action = serializers.CharField(required=False, max_length=64, help_text="e.g. `auth.login`")
    kind = serializers.CharField(required=False, max_length=64, help_text="automation slug or area")
    status = serializers.ChoiceField(required=False, choices=AuditEvent.Status.values)
    actor = serializers.IntegerField(required=False, min_value=1, max_value=selectors.MAX_BIGINT, help_text="user id")
    submission = serializers.CharField(required=False, max_length=64, help_text="submission id")
    at_after = serializers.DateTimeField(required=False, help_text="events at or after this instant (ISO 8601)")
    at_before = serializers.DateTimeField(required=False, help_text="events strictly before this instant (ISO 8601)")

    def validate(self, attrs):
        if "at_after" in attrs and "at_before" in attrs and attrs["at_after"] >= attrs["at_before"]:
            raise serializers.ValidationError({"at_before": "Deve ser posterior a at_after."}, code="invalid_range")
        return attrs


class AuditActorSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="actor_id", allow_null=True)
    # Named like a Serializer attribute; DRF's metaclass moves declared fields off the class.
    label = serializers.CharField(source="actor_label")  # type: ignore[assignment]


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    action = serializers.CharField()
    status = serializers.ChoiceField(choices=AuditEvent.Status.values)
    kind = serializers.CharField()
    actor = AuditActorSerializer(source="*")
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    session_id = serializers.UUIDField(source="session_public_id", allow_null=True)
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    details = serializers.JSONField()


def event_row(row: dict) -> dict:
    """AuditEventSerializer's output for a `.values()` row, without its per-field cost
    (tests/perf/test_representation.py holds the two equal)."""
    return {
        "id": row["id"], "at": row["at"], "action": row["action"], "status": row["status"],
        "kind": row["kind"], "actor": {"id": row["actor_id"], "label": row["actor_label"]},
        "target_type": row["target_type"], "target_id": row["target_id"],
        "session_id": text_or_none(row["session_public_id"]), "ip": text_or_none(row["ip"]),
        "user_agent": row["user_agent"], "details": row["details"],
    }


def _filters(request) -> dict:
    serializer = AuditFilterSerializer(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return selectors.with_submission_floor(serializer.validated_data)


class AuditPagination(CursorPagination):
    """On the monthly partitions, each page is read from the week before its edge first
    (partitions.PAGE_WINDOW); the first page's edge is now, or `at_before` when earlier."""

    def time_window(self, queryset, view) -> TimeWindow | None:
        if not partitions.monthly(connections[queryset.db]):
            return None
        now, before = timezone.now(), view.filters.get("at_before")
        return TimeWindow(partitions.PAGE_WINDOW, min(now, before) if before else now, view.filters.get("at_after"))


class AuditEventListApi(generics.ListAPIView):
    """The audit trail, newest first. Roles admin, auditor, controle."""

    permission_classes = [HasRole(*OVERSIGHT)]
    pagination_class = AuditPagination
    serializer_class = AuditEventSerializer

    def get_queryset(self):
        self.filters = _filters(self.request)
        return selectors.audit_event_list(**self.filters)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([event_row(row) for row in page])

    @extend_schema(parameters=[AuditFilterSerializer], tags=["audits"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class _JsonErrors(DefaultContentNegotiation):
    # The success answer is CSV whatever the Accept header says; errors are always JSON.
    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


CSV_HEADER = ("id", "at", "action", "status", "kind", "actor_id", "actor_label", "target_type", "target_id",
              "session_id", "ip", "user_agent", "details")


class AuditEventExportApi(APIView):
    """The filtered audit trail as a CSV download, streamed row by row from the database."""

    permission_classes = [HasRole(*OVERSIGHT)]
    content_negotiation_class = _JsonErrors

    @extend_schema(
        parameters=[AuditFilterSerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="UTF-8 CSV with a byte-order mark and a header row, newest first; columns "
                            + ", ".join(CSV_HEADER) + ". Cells that a spreadsheet would run as a formula "
                            "are prefixed with an apostrophe.",
            ),
            400: ErrorSerializer,
        },
        tags=["audits"],
        operation_id="audits_export_csv",
    )
    def get(self, request):
        return csv_download(selectors.audit_event_export_rows(**_filters(request)), CSV_HEADER, "auditoria")


class AuditSealSerializer(serializers.Serializer):
    seal = serializers.IntegerField(source="number", help_text="1, 2, 3... in chain order")
    version = serializers.IntegerField(help_text="encoding version (docs/audit-seals.md)")
    first_id = serializers.IntegerField(help_text="first event id of the range (every id up to last_id)")
    last_id = serializers.IntegerField()
    count = serializers.IntegerField(help_text="events in the range")
    last_at = serializers.CharField(help_text="latest `at` of the range, as encoded: UTC, six fractional digits")
    # Named like a Serializer attribute; DRF's metaclass moves declared fields off the class.
    root = serializers.CharField(help_text="Merkle root of the range's events (hex SHA-256)")  # type: ignore[assignment]
    prev = serializers.CharField(help_text="hash of the previous seal (64 zeros for seal 1)")
    hash = serializers.CharField(help_text="this seal's hash, held by the next seal as `prev`")
    event_id = serializers.IntegerField(help_text="the `audit.sealed` event that records this seal in the trail")
    sealed_at = serializers.DateTimeField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["last_at"] = instant(instance.last_at)  # the text the seal's hash covers
        return data


class LatestAuditSealApi(APIView):
    """The latest seal of the audit trail, for auditors to compare with an exported anchor."""

    permission_classes = [HasRole(*OVERSIGHT)]

    @extend_schema(responses={200: AuditSealSerializer, 404: ErrorSerializer}, tags=["audits"],
                   operation_id="audits_seals_latest")
    def get(self, request):
        seal = selectors.latest_seal()
        if seal is None:
            raise NotFound("A trilha de auditoria ainda não foi selada.")
        response = Response(AuditSealSerializer(seal).data)
        patch_cache_control(response, private=True, no_store=True)
        return response
