import re

from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.cpf import format_cpf
from agepar.admin_tools import (
    BigTableAdmin,
    CsvExportMixin,
    DateRangeFilter,
    ReadOnlyAdminMixin,
    audit_trail_url,
    confirm_with_reason,
    data_table,
    duration,
    permission_check,
    status_badge,
)
from agepar.api import keyset_rows
from submissions import automations, delivery, selectors, services
from submissions.models import Submission, TaskRun


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


class LeaseFilter(admin.SimpleListFilter):
    """Running rows whose worker stopped renewing its lease (requeue_stale takes them back)."""

    title = "reserva do worker"
    parameter_name = "reserva"

    def lookups(self, request, model_admin):
        return [("vencida", "vencida (em execução)")]

    def queryset(self, request, queryset):
        if self.value() == "vencida":
            return queryset.filter(status=Submission.Status.RUNNING, lease_expires_at__lt=timezone.now())
        return queryset


@admin.register(Submission)
class SubmissionAdmin(CsvExportMixin, ReadOnlyAdminMixin, BigTableAdmin):
    list_display = ("id", "automacao", "situacao", "actor", "cpf", "created_at", "duracao")
    # The presets (today, 7 days, ...; the dashboard links to them) and a from/to range of days.
    list_filter = (KindFilter, "status", WithdrawnFilter, LeaseFilter, ("created_at", DateFieldListFilter),
                   ("created_at", DateRangeFilter), ("finished_at", DateFieldListFilter),
                   ("finished_at", DateRangeFilter))
    list_select_related = ("actor",)
    lag_tolerant_changelist = True  # read replica (agepar/routers.py)
    ordering = ("-created_at", "-id")  # newest first like the API, on the same (..., created_at, id) indexes
    # Shown in the search box help; the matching itself is get_search_results, one indexed lookup per term.
    search_fields = ("=actor_cpf", "^actor_email", "^actor_nome")
    search_help_text = "CPF (exato), início do e-mail ou início do nome do autor; ou o número da submissão."
    fields = ("id", "kind", "version", "status", "actor", "actor_nome", "actor_email", "actor_cpf", "attempts",
              "retries", "run_after", "error", "payload_table", "result_table", "files_list", "created_at",
              "updated_at", "started_at", "finished_at", "lease_expires_at", "idempotency_key", "unique_key",
              "deleted_at", "deleted_by")
    readonly_fields = fields
    actions = ("retry_selected", "mark_as_error")
    change_form_template = "admin/submissions/submission/change_form.html"
    csv_name = "submissoes"
    csv_header = ("id", "kind", "status", "actor_id", "actor_email", "actor_cpf", "attempts", "created_at",
                  "started_at", "finished_at", "error")

    def csv_rows(self, queryset):
        rows = queryset.order_by(*selectors.NEWEST_FIRST).values_list(*self.csv_header)
        return keyset_rows(rows, size=2000, position=lambda row: (row[7], row[0]))  # (created_at, id)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The workflow buttons of the page (templates/admin/submissions/submission/change_form.html).
        context.update(can_retry=self.has_retry_permission(request), can_fail=self.has_fail_permission(request),
                       events_url=audit_trail_url("submissions.submission", obj.pk),
                       result_url=self._result_url(obj) if self._has_result(obj) else None)
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- downloads: the result's files and JSON, for who may view the submission ---------------
    def get_urls(self):
        view, name = self.admin_site.admin_view, f"{self.opts.app_label}_{self.opts.model_name}"
        return [path("<path:object_id>/resultado.json", view(self.download_result), name=f"{name}_result"),
                path("<path:object_id>/arquivos/<str:file_name>", view(self.download_file), name=f"{name}_file"),
                *super().get_urls()]

    @staticmethod
    def _has_result(submission: Submission) -> bool:
        # A withdrawn run's files are deleted with it; the API no longer shows it either.
        return submission.status == Submission.Status.DONE and submission.deleted_at is None

    def _result_url(self, submission: Submission, file_name: str | None = None) -> str:
        if file_name is None:
            return reverse("admin:submissions_submission_result", args=[submission.pk])
        return reverse("admin:submissions_submission_file", args=[submission.pk, file_name])

    def _readable(self, request, object_id) -> Submission:
        submission = self.get_object(request, unquote(object_id))
        if submission is None or not self._has_result(submission):
            raise Http404
        if not self.has_view_permission(request, submission):
            raise PermissionDenied
        return submission

    def download_result(self, request, object_id):
        return delivery.result_json_response(self._readable(request, object_id))

    def download_file(self, request, object_id, file_name):
        """Audited like the API's download (submission.file_downloaded, `via: admin`)."""
        submission = self._readable(request, object_id)
        file = selectors.submission_file(submission=submission, name=file_name)
        response = delivery.file_response(submission, file, request=request, via="admin") if file else None
        if response is None:
            self.message_user(request, f"O arquivo {file_name} não está mais disponível.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:submissions_submission_change", args=[submission.pk]))
        return response

    @admin.display(description="automação", ordering="kind")
    def automacao(self, obj):
        automation = automations.all_automations().get(obj.kind)
        return automation.title if automation else obj.kind

    @admin.display(description="situação", ordering="status")
    def situacao(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="CPF", ordering="actor_cpf")
    def cpf(self, obj):
        return format_cpf(obj.actor_cpf) if obj.actor_cpf else "—"

    @admin.display(description="duração")
    def duracao(self, obj):
        if obj.started_at is None or obj.finished_at is None:
            return "—"
        return duration(obj.finished_at - obj.started_at)

    @admin.display(description="dados enviados")
    def payload_table(self, obj):
        automation = automations.get(obj.kind)
        return data_table(obj.payload, automation.payload_labels if automation else None)

    @admin.display(description="resultado")
    def result_table(self, obj):
        automation = automations.get(obj.kind)
        return data_table(obj.result, automation.result_labels if automation else automations.RESULT_LABELS)

    @admin.display(description="arquivos do resultado")
    def files_list(self, obj):
        files = selectors.submission_files(submission_id=obj.pk)
        if not files:
            return "—"
        if not self._has_result(obj):
            return format_html_join("", '<div class="result-file">{} ({}, {})</div>', (
                (f["name"], filesizeformat(f["size"]), f["content_type"]) for f in files))
        return format_html_join("", '<div class="result-file"><a class="button" href="{}" download>Baixar</a> '
                                    '{} ({}, {})</div>',
                                ((self._result_url(obj, f["name"]), f["name"], filesizeformat(f["size"]),
                                  f["content_type"]) for f in files))

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

    has_retry_permission = permission_check("submissions.retry_submission")
    has_fail_permission = permission_check("submissions.fail_submission")

    @admin.action(description="Reenfileirar selecionadas (somente com erro)", permissions=["retry"])
    def retry_selected(self, request, queryset):
        def perform(rows, reason):
            self._apply(request, rows.filter(status=Submission.Status.ERROR).select_related("actor"),
                        lambda submission: services.submission_retry(submission=submission, actor=request.user,
                                                                     reason=reason, request=request),
                        "reenfileirada(s); só as que estavam com erro são reenfileiradas.")

        return confirm_with_reason(self, request, queryset, title="Reenfileirar submissões",
                                   question="Estas submissões voltam para a fila (só as que estão com erro):",
                                   perform=perform)

    @admin.action(description="Marcar como erro (presas na fila ou em execução)", permissions=["fail"])
    def mark_as_error(self, request, queryset):
        stuck = [Submission.Status.QUEUED, Submission.Status.RUNNING]

        def perform(rows, reason):
            self._apply(request, rows.filter(status__in=stuck),
                        lambda submission: services.submission_mark_error(
                            submission=submission, actor=request.user, request=request, reason=reason),
                        "marcada(s) como erro; só as que estavam na fila ou em execução são alteradas.")

        return confirm_with_reason(self, request, queryset, title="Marcar submissões como erro",
                                   question="Estas submissões terminam com erro (só as que estão na fila ou em "
                                            "execução); o motivo é a mensagem de erro que o autor verá:",
                                   perform=perform)

    def _apply(self, request, rows, transition, outcome: str):
        """Runs one service transition per row; rows that moved on meanwhile are counted apart."""
        done = skipped = 0
        for submission in rows:
            try:
                transition(submission)
                done += 1
            except (services.InvalidTransition, services.RetryTooSoon):
                skipped += 1
        self.message_user(request, f"{done} submissão(ões) {outcome}", messages.SUCCESS if done else messages.WARNING)
        if skipped:
            self.message_user(request, f"{skipped} mudaram de situação antes da ação.", messages.WARNING)


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdminMixin, BigTableAdmin):
    """The task queue for superusers (no role has its permission); rows are the worker's, never edited here.

    It replaces django-tasks-db's own screen (unregistered in agepar/admin.py, which loads after it).
    """

    list_display = ("enqueued_at", "tarefa", "status", "submissao", "started_at", "finished_at", "queue_name")
    list_filter = ("status", "queue_name")
    ordering = ("-enqueued_at",)
    fields = ("task_path", "status", "submissao", "enqueued_at", "run_after", "started_at", "finished_at",
              "queue_name", "priority", "worker_ids", "exception_class_path", "rastreamento")
    readonly_fields = fields

    @admin.display(description="tarefa")
    def tarefa(self, obj):
        return obj.function_name

    @admin.display(description="submissão")
    def submissao(self, obj):
        if obj.submission_id is None:
            return "—"
        submission = Submission.objects.filter(pk=obj.submission_id).only("status").first()
        status = submission.get_status_display() if submission else "removida"
        return format_html('<a href="{}">#{}</a> ({})',
                           reverse("admin:submissions_submission_change", args=[obj.submission_id]),
                           obj.submission_id, status)

    @admin.display(description="rastreamento")
    def rastreamento(self, obj):
        return format_html("<pre>{}</pre>", obj.traceback) if obj.traceback else "—"
