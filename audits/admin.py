from datetime import timedelta

from django.apps import apps
from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html

from agepar.admin_tools import (
    BigTableAdmin,
    CsvExportMixin,
    DateRangeFilter,
    ReadOnlyAdminMixin,
    data_table,
    status_badge,
)
from audits.actions import ACTIONS, DETAIL_LABELS, KINDS
from audits.api import CSV_HEADER
from audits.models import AuditEvent
from audits.selectors import export_rows


def _admin_link(viewname: str, args, text) -> str:
    # Other apps' admin pages may not be registered (yet): show the plain value then.
    try:
        return format_html('<a href="{}">{}</a>', reverse(viewname, args=args), text)
    except NoReverseMatch:
        return str(text)


class _ValueFilter(admin.SimpleListFilter):
    """Choices from a fixed vocabulary: listing them never scans the table (no DISTINCT)."""

    vocabulary: dict[str, str] = {}

    def lookups(self, request, model_admin):
        return [(value, f"{value} — {label}") for value, label in self.vocabulary.items()]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.parameter_name: value}) if value else queryset


class ActionFilter(_ValueFilter):
    title = "ação"
    parameter_name = "action"
    vocabulary = ACTIONS


class KindFilter(_ValueFilter):
    title = "área"
    parameter_name = "kind"
    vocabulary = KINDS


class StatusFilter(_ValueFilter):
    title = "resultado"
    parameter_name = "status"
    vocabulary = dict(AuditEvent.Status.choices)

    def lookups(self, request, model_admin):
        return list(self.vocabulary.items())


class TargetFilter(admin.SimpleListFilter):
    """The events about one record (`alvo=submissions.submission:42`), from the links on its admin page."""

    title = "alvo"
    parameter_name = "alvo"

    def lookups(self, request, model_admin):
        value = self.value()
        return ((value, value.replace(":", " #", 1)),) if value and ":" in value else ()

    def queryset(self, request, queryset):
        target_type, _, target_id = (self.value() or "").partition(":")
        return queryset.filter(target_type=target_type, target_id=target_id) if target_id else queryset


class PeriodFilter(admin.SimpleListFilter):
    title = "período"
    parameter_name = "period"
    PERIODS = {"24h": ("últimas 24 horas", timedelta(hours=24)),
               "7d": ("últimos 7 dias", timedelta(days=7)),
               "30d": ("últimos 30 dias", timedelta(days=30)),
               "365d": ("últimos 12 meses", timedelta(days=365))}

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.PERIODS.items()]

    def queryset(self, request, queryset):
        period = self.PERIODS.get(self.value())
        return queryset.filter(at__gte=timezone.now() - period[1]) if period else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(CsvExportMixin, ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("id", "at", "acao", "resultado", "area", "actor_link", "target_link", "ip")
    list_display_links = ("id", "at")
    list_filter = (ActionFilter, StatusFilter, KindFilter, PeriodFilter, ("at", DateRangeFilter), TargetFilter)
    # Prefix and exact matches only: both use an index; "contains" would scan millions of rows.
    search_fields = ("actor_label__startswith", "target_id__exact")
    search_help_text = "Início do e-mail/CPF do autor, ou o id exato do alvo."
    list_select_related = ("actor",)
    lag_tolerant_changelist = True  # read replica (agepar/routers.py)
    ordering = ("-at", "-id")  # newest first like the API, on the same (..., at, id) indexes
    fields = ("id", "at", "acao_completa", "status", "area", "actor_link", "actor_label", "target_type", "target_link",
              "session_link", "ip", "user_agent", "request_id", "details_table")
    readonly_fields = fields

    csv_name = "auditoria"
    csv_header = CSV_HEADER

    def csv_rows(self, queryset):
        return export_rows(queryset)  # the API's export (GET /api/audits/export), on the admin's filters

    @admin.display(description="ação", ordering="action")
    def acao(self, obj):
        # The label up to its explanation: "Login (sucesso ou falha; ...)" reads "Login".
        label = ACTIONS.get(obj.action)
        return format_html('<span title="{}">{}</span>', obj.action, label.split(" (")[0]) if label else obj.action

    @admin.display(description="ação")
    def acao_completa(self, obj):
        # The page has room for the whole label, and the slug as the API and the CSV name it.
        label = ACTIONS.get(obj.action)
        return format_html("{} <code>{}</code>", label, obj.action) if label else obj.action

    @admin.display(description="área", ordering="kind")
    def area(self, obj):
        label = KINDS.get(obj.kind)  # up to its explanation, as the action: "Automação DFD"
        return format_html('<span title="{}">{}</span>', obj.kind, label.split(" (")[0]) if label else obj.kind

    @admin.display(description="resultado", ordering="status")
    def resultado(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="autor")
    def actor_link(self, obj):
        if obj.actor_id is None:
            return obj.actor_label
        try:
            actor = obj.actor
        except ObjectDoesNotExist:
            actor = None
        # The user may have been deleted since: the label snapshot still says who it was.
        if actor is None:
            return f"{obj.actor_label} (usuário removido)"
        return _admin_link("admin:accounts_user_change", [obj.actor_id], obj.actor_label)

    @admin.display(description="alvo")
    def target_link(self, obj):
        if not obj.target_type:
            return "—"
        text = f"{obj.target_type} #{obj.target_id}"
        app_label, _, model_name = obj.target_type.partition(".")
        if not model_name:
            return text
        try:
            return format_html('<a href="{}">{}</a>', reverse(f"admin:{app_label}_{model_name}_change",
                                                              args=[obj.target_id]), text)
        except NoReverseMatch:
            pass
        # A record without an admin page (e.g. a seal of the trail): named in Portuguese, the slug in the title.
        try:
            name = apps.get_model(obj.target_type)._meta.verbose_name
        except LookupError:
            return text
        return format_html('<span title="{}">{} nº {}</span>', text, name, obj.target_id)

    @admin.display(description="sessão")
    def session_link(self, obj):
        if obj.session_public_id is None:
            return "—"
        # The session admin is addressed by public id; the session key is never shown.
        try:
            url = reverse("admin:accounts_session_changelist")
        except NoReverseMatch:
            return str(obj.session_public_id)
        return format_html('<a href="{}?q={}">{}</a>', url, obj.session_public_id, obj.session_public_id)

    @admin.display(description="detalhes")
    def details_table(self, obj):
        return data_table(obj.details, DETAIL_LABELS)

