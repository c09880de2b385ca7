"""Admin building blocks for tables with millions of rows (audits, submissions, sessions, shares).

Django's changelist runs `SELECT COUNT(*)` over the filtered queryset for its paginator
and, unless told otherwise, another over the whole table. On PostgreSQL a count of a few
million rows costs hundreds of milliseconds, so:
- unfiltered pages use the planner's row estimate (pg_class.reltuples), which is free;
- filtered pages count at most CAPPED_COUNT + 1 rows and show "more than N" beyond that.
"""

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from agepar.csv_export import csv_download
from agepar.routers import lag_tolerant

CAPPED_COUNT = 10_000


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self):
        queryset = self.object_list
        if not queryset.query.where and connections[queryset.db].vendor == "postgresql":
            with connections[queryset.db].cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                               [queryset.model._meta.db_table])
                row = cursor.fetchone()
            if row and row[0] > CAPPED_COUNT:
                return int(row[0])
        # Counting a bounded slice touches at most CAPPED_COUNT + 1 index entries.
        return queryset.order_by()[: CAPPED_COUNT + 1].count()


class LagTolerantChangeList(ChangeList):
    """The page a GET shows comes from the read replica when there is a usable one (agepar/routers.py).
    A POST (an admin action) selects its rows on the primary, where the action then writes."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.using(lag_tolerant()) if request.method in ("GET", "HEAD") else queryset


class BigTableAdmin(admin.ModelAdmin):
    """A changelist that stays fast at millions of rows: no full count, no facets, small pages.

    `lag_tolerant_changelist = True` serves the changelist from the read replica (a second or two
    behind the primary); the change pages and actions always read the primary.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    list_max_show_all = 200
    lag_tolerant_changelist = False

    def get_changelist(self, request, **kwargs):
        return LagTolerantChangeList if self.lag_tolerant_changelist else super().get_changelist(request, **kwargs)


class ReadOnlyAdminMixin:
    """Records are written by services only; the admin browses them (actions may still call services)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Deeper than this, a value is shown as compact JSON: a table inside a list inside a table... stops reading
# well long before, and the page must not recurse without bound on a hostile document.
DATA_MAX_DEPTH = 8


def data_table(value, labels: Mapping[str, str] | None = None) -> SafeString:
    """A JSON document (a payload, a result, an event's details) for reading: an object is a table of
    labelled rows, nested objects and lists are nested lists.

    `labels` names keys at any depth (e.g. a serializer's field labels); a key without one shows as
    itself. Rows follow the order of `labels`, then the other keys alphabetically (PostgreSQL's jsonb
    keeps no order of its own). The key is in each label's `title`, as the API and the CSV name it.
    Every value is escaped: a payload is user input.
    """
    labels = labels or {}
    if isinstance(value, dict) and value:
        rows = format_html_join("", '<tr><th title="{}">{}</th><td>{}</td></tr>',
                                ((key, labels.get(key, key), _data_value(item, labels, 1))
                                 for key, item in _ordered(value, labels)))
        return format_html('<table class="data-table"><tbody>{}</tbody></table>', rows)
    return _data_value(value, labels, 0)


def _ordered(value: dict, labels: Mapping[str, str]) -> list:
    position = {key: index for index, key in enumerate(labels)}
    return sorted(value.items(), key=lambda pair: (position.get(pair[0], len(position)), pair[0]))


def _data_value(value, labels: Mapping[str, str], depth: int) -> SafeString:
    if isinstance(value, dict | list) and value and depth >= DATA_MAX_DEPTH:
        return format_html('<code>{}</code>', json.dumps(value, ensure_ascii=False, default=str))
    if isinstance(value, dict) and value:
        items = format_html_join("", '<li><span class="data-key" title="{}">{}:</span> {}</li>',
                                 ((key, labels.get(key, key), _data_value(item, labels, depth + 1))
                                  for key, item in _ordered(value, labels)))
        return format_html('<ul class="data-list">{}</ul>', items)
    if isinstance(value, list) and value:
        items = format_html_join("", "<li>{}</li>", ((_data_value(item, labels, depth + 1),) for item in value))
        return format_html('<ol class="data-list">{}</ol>', items)
    if value in (None, "", [], {}):
        return format_html('<span class="data-empty">{}</span>', "—" if value is None else "(vazio)")
    if isinstance(value, bool):
        return format_html("{}", "sim" if value else "não")
    return format_html('<span class="data-text">{}</span>', value)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Motivo", max_length=200, strip=True,
                             widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Obrigatório. Fica registrado na trilha de auditoria.")


# A confirmation page lists and carries at most this many rows; the actions act on at most as many.
CONFIRM_MAX_ROWS = 500


def confirm_with_reason(model_admin, request, queryset, *, title: str, question: str,
                        perform: Callable[[QuerySet, str], None]) -> TemplateResponse | None:
    """The confirmation step of an admin action: what will be affected, and a reason that is recorded.

    The first POST (from the changelist) shows the page; its own POST (with `confirm`) runs
    `perform(rows, reason)` and returns None, which takes Django back to the changelist.
    """
    form = ReasonForm(request.POST if "confirm" in request.POST else None)
    rows = queryset.model.objects.filter(pk__in=list(queryset.values_list("pk", flat=True)[:CONFIRM_MAX_ROWS]))
    if form.is_bound and form.is_valid():
        perform(rows, form.cleaned_data["reason"])
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "question": question,
        "objects": list(rows.order_by("-pk")),
        "limit": CONFIRM_MAX_ROWS,
        "form": form,
        "action": request.POST.get("action", ""),
        "opts": model_admin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/agepar/confirm_action.html", context)


def permission_check(codename: str) -> Callable:
    """`has_<name>_permission` for `@admin.action(permissions=["<name>"])`: one Django permission."""

    def check(model_admin, request, obj=None) -> bool:
        return request.user.has_perm(codename)

    check.__name__ = f"has_{codename.partition('.')[2]}_permission"
    return check


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Safari/", "Safari"))
_SYSTEMS = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))


def user_agent_summary(user_agent: str) -> str:
    """`Mozilla/5.0 (Windows NT 10.0; ...) Chrome/120.0 ...` → `Chrome 120 · Windows`: fits a list column.

    Browsers name each other in their user agents (Edge says Chrome and Safari), so the most specific
    token is looked for first; anything unknown is shown cut to 40 characters.
    """
    if not user_agent:
        return "—"
    found = next(((token, name) for token, name in _BROWSERS if token in user_agent), None)
    browser = None
    if found:
        # Safari's own token is its WebKit build (Safari/604.1); its version is in Version/17.4.
        token = "Version/" if found[1] == "Safari" and "Version/" in user_agent else found[0]
        browser = f"{found[1]} {user_agent.split(token, 1)[1].split('.')[0].split(' ')[0]}".strip()
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    if browser is None:
        return user_agent[:40] + ("…" if len(user_agent) > 40 else "")
    return f"{browser} · {system}" if system else browser


class CsvExportMixin(admin.ModelAdmin):
    """An "Exportar CSV" button on the changelist: the rows it lists, filters and search applied, streamed.

    Subclasses name the file (`csv_name`), its columns (`csv_header`) and turn the filtered
    queryset into rows (`csv_rows`, e.g. keyset batches so millions of rows never sit in memory).
    """

    change_list_template = "admin/agepar/change_list_export.html"
    csv_name: str
    csv_header: tuple[str, ...]

    def csv_rows(self, queryset: QuerySet) -> Iterable:
        raise NotImplementedError

    def get_urls(self):
        opts = self.opts
        export = path("exportar.csv", self.admin_site.admin_view(self.export_csv),
                      name=f"{opts.app_label}_{opts.model_name}_export")
        return [export, *super().get_urls()]

    def export_csv(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:  # as the changelist itself answers a filter it cannot apply
            return HttpResponseRedirect(f"{reverse(f'admin:{self.opts.app_label}_{self.opts.model_name}_changelist')}"
                                        "?e=1")
        return csv_download(self.csv_rows(changelist.queryset), self.csv_header, self.csv_name)


def audit_trail_url(target_type: str, target_id) -> str:
    """The audit changelist filtered to the events about one record (audits.admin.TargetFilter)."""
    return f"{reverse('admin:audits_auditevent_changelist')}?{urlencode({'alvo': f'{target_type}:{target_id}'})}"


def status_badge(value: str, label: str):
    """A status as a coloured label (agepar/static/agepar/admin.css: .status-<value>)."""
    return format_html('<span class="status status-{}">{}</span>', value, label)


def duration(delta) -> str:
    """`1 min 05 s`, `2,4 s`: how long a run took, readable at a glance."""
    seconds = delta.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s".replace(".", ",")
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {rest:02d} s"


class DateRangeFilter(admin.FieldListFilter):
    """From one day to another (both included, in the portal's time zone): `?<field>_de=2026-03-01&<field>_ate=…`.

    Django's own date filter offers presets only (today, the last 7 days, ...); staff looking into an
    incident need the days it spans. Either end may be left empty. A date that is not one (`?at_de=x`)
    is Django's "incorrect lookup" (the changelist says so), never an unfiltered list.
    Use as `list_filter = [("at", DateRangeFilter)]`; the sidebar shows two date fields
    (templates/admin/agepar/date_range_filter.html).
    """

    template = "admin/agepar/date_range_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.since_name, self.until_name = f"{field_path}_de", f"{field_path}_ate"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = f"{self.title} (intervalo de datas)"  # apart from the presets on the same field
        self.since, self.until = (self._day(self.used_parameters.get(name)) for name in self.expected_parameters())

    def _day(self, value):
        value = (value[-1] if isinstance(value, list) else value or "").strip()
        if not value:
            return None
        try:
            day = parse_date(value)
        except ValueError:
            day = None
        if day is None:
            raise IncorrectLookupParameters(f"Data inválida: {value}")
        return day

    def expected_parameters(self):
        return [self.since_name, self.until_name]

    @staticmethod
    def _start_of(day):
        return timezone.make_aware(datetime.combine(day, time.min))

    def queryset(self, request, queryset):
        if self.since:
            queryset = queryset.filter(**{f"{self.field_path}__gte": self._start_of(self.since)})
        if self.until:
            queryset = queryset.filter(**{f"{self.field_path}__lt": self._start_of(self.until + timedelta(days=1))})
        return queryset

    def choices(self, changelist):
        # One "choice": what the template needs to draw the form (the other filters ride along hidden).
        others = [(name, value) for name, value in changelist.params.items() if name not in self.expected_parameters()]
        yield {"since_name": self.since_name, "until_name": self.until_name,
               "since": self.since.isoformat() if self.since else "",
               "until": self.until.isoformat() if self.until else "",
               "selected": bool(self.since or self.until), "hidden": others,
               "clear_query_string": changelist.get_query_string(remove=self.expected_parameters())}
