"""Admin building blocks for tables with millions of rows (audits, submissions, sessions, shares).

Django's changelist runs `SELECT COUNT(*)` over the filtered queryset for its paginator
and, unless told otherwise, another over the whole table. On PostgreSQL a count of a few
million rows costs hundreds of milliseconds, so:
- unfiltered pages use the planner's row estimate (pg_class.reltuples), which is free;
- filtered pages count at most CAPPED_COUNT + 1 rows and show "more than N" beyond that.
"""

import json

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property
from django.utils.html import format_html

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


def pretty_json(value) -> str:
    """JSON indented for reading in the admin, escaped for HTML."""
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)
