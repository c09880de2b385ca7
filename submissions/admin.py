import re

from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from django.utils.html import format_html_join

from accounts.roles import ADMIN, has_role
from agepar.admin_tools import BigTableAdmin, ReadOnlyAdminMixin, pretty_json
from submissions import automations, selectors, services
from submissions.models import Submission


class KindFilter(admin.SimpleListFilter):
    """Kinds come from the registry: no SELECT DISTINCT over millions of rows."""

    title = "automação"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(a.kind, a.title) for a in automations.all_automations().values()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


class WithdrawnFilter(admin.SimpleListFilter):
    title = "excluída"
    parameter_name = "excluida"

    def lookups(self, request, model_admin):
        return [("nao", "Não"), ("sim", "Sim")]

    def queryset(self, request, queryset):
        if self.value() in ("sim", "nao"):
            return queryset.filter(deleted_at__isnull=self.value() == "nao")
        return queryset


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("id", "kind", "status", "actor", "actor_cpf", "attempts", "created_at", "finished_at")
    list_filter = (KindFilter, "status", WithdrawnFilter, ("created_at", DateFieldListFilter))
    list_select_related = ("actor",)
    lag_tolerant_changelist = True  # read replica (agepar/routers.py)
    ordering = ("-created_at", "-id")  # newest first like the API, on the same (..., created_at, id) indexes
    # Shown in the search box help; the matching itself is get_search_results, one indexed lookup per term.
    search_fields = ("=actor_cpf", "^actor_email", "^actor_nome")
    search_help_text = "CPF (exato), início do e-mail ou início do nome do autor; ou o número da submissão."
    fields = ("id", "kind", "version", "status", "actor", "actor_nome", "actor_email", "actor_cpf", "attempts",
              "retries", "run_after", "error", "payload_pretty", "result_pretty", "files_list", "created_at",
              "updated_at", "started_at", "finished_at", "lease_expires_at", "idempotency_key", "unique_key",
              "deleted_at", "deleted_by")
    readonly_fields = fields
    actions = ("retry_selected", "mark_as_error")

    @admin.display(description="dados enviados")
    def payload_pretty(self, obj):
        return pretty_json(obj.payload)

    @admin.display(description="resultado")
    def result_pretty(self, obj):
        return pretty_json(obj.result) if obj.result is not None else "—"

    @admin.display(description="arquivos do resultado")
    def files_list(self, obj):
        files = selectors.submission_files(submission_id=obj.pk)
        if not files:
            return "—"
        return format_html_join("", '<div><a href="{}">{}</a> ({} bytes, {})</div>',
                                ((f["download_url"], f["name"], f["size"], f["content_type"]) for f in files))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        digits = re.sub(r"[.\-/\s]", "", term)
        if digits.isdigit():
            if len(digits) == 11:
                return queryset.filter(actor_cpf=digits), False
            return queryset.filter(pk=int(digits)), False
        if "@" in term:
            return queryset.filter(actor_email__startswith=term.lower()), False  # e-mails are stored lower-case
        return queryset.filter(actor_nome__istartswith=term), False

    def has_manage_permission(self, request):
        return has_role(request.user, ADMIN)

    @admin.action(description="Reenfileirar selecionadas (somente com erro)", permissions=["manage"])
    def retry_selected(self, request, queryset):
        self._apply(request, queryset.filter(status=Submission.Status.ERROR).select_related("actor"),
                    lambda submission: services.submission_retry(submission=submission, actor=request.user,
                                                                 request=request),
                    "reenfileirada(s); só as que estavam com erro são reenfileiradas.")

    @admin.action(description="Marcar como erro (presas na fila ou em execução)", permissions=["manage"])
    def mark_as_error(self, request, queryset):
        stuck = [Submission.Status.QUEUED, Submission.Status.RUNNING]
        self._apply(request, queryset.filter(status__in=stuck),
                    lambda submission: services.submission_mark_error(
                        submission=submission, actor=request.user, request=request,
                        reason="Marcada como erro pela administração."),
                    "marcada(s) como erro; só as que estavam na fila ou em execução são alteradas.")

    def _apply(self, request, rows, transition, outcome: str):
        """Runs one service transition per row (at most 500); rows that moved on meanwhile are counted apart."""
        done = skipped = 0
        for submission in rows[:500]:
            try:
                transition(submission)
                done += 1
            except (services.InvalidTransition, services.RetryTooSoon):
                skipped += 1
        self.message_user(request, f"{done} submissão(ões) {outcome}", messages.SUCCESS if done else messages.WARNING)
        if skipped:
            self.message_user(request, f"{skipped} mudaram de situação antes da ação.", messages.WARNING)
