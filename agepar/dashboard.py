"""The figures on the admin's index page, for staff who may see submissions.

Each figure is one grouped or counted query on an index (status, time, partial indexes for queued
and running rows), and the whole set is cached for a minute: the page may be reloaded by every
staff member all day without the database counting a million rows each time.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, Sum
from django.db.models.functions import TruncDate
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone

from accounts.models import Session
from fileshare.models import FileShareItem
from submissions.models import Submission

CACHE_KEY = "admin:dashboard:v1"
CACHE_SECONDS = 60
DAYS = 30
Status = Submission.Status
# Bar colours per status, bottom to top (the admin's own palette, readable on white).
COLOURS = {Status.DONE: "#2e7d32", Status.ERROR: "#c62828", Status.RUNNING: "#1565c0", Status.QUEUED: "#9e9e9e"}
CHART_WIDTH, CHART_HEIGHT, BAR_GAP = 720, 160, 4


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    url: str


def _changelist(name: str, **query) -> str:
    url = reverse(f"admin:{name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def _moment(value: datetime) -> str:
    # With its offset, so the admin's lookup reads an aware datetime.
    return timezone.localtime(value).isoformat(sep=" ", timespec="seconds")


def _local_day_bounds(day: date) -> dict[str, str]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(settings.TIME_ZONE))
    return {"created_at__gte": _moment(start), "created_at__lt": _moment(start + timedelta(days=1))}


def per_day(now: datetime) -> list[dict]:
    """Submissions created on each of the last DAYS days (local time), by status: [{day, counts}]."""
    zone = ZoneInfo(settings.TIME_ZONE)
    today = timezone.localtime(now, zone).date()
    first = today - timedelta(days=DAYS - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    rows = (Submission.objects.filter(created_at__gte=since).order_by()
            .annotate(day=TruncDate("created_at", tzinfo=zone)).values("day", "status").annotate(n=Count("id")))
    counts: dict[date, dict[str, int]] = {first + timedelta(days=i): {} for i in range(DAYS)}
    for row in rows:
        counts.setdefault(row["day"], {})[row["status"]] = row["n"]
    return [{"day": day, "counts": counts[day]} for day in sorted(counts)]


def compute(now: datetime) -> dict:
    queued = Submission.objects.filter(status=Status.QUEUED).aggregate(n=Count("id"), oldest=Min("created_at"))
    live = FileShareItem.objects.filter(deleted_at__isnull=True, expires_at__gt=now).aggregate(
        n=Count("id"), size=Sum("size"))
    return {
        "now": now,
        "days": per_day(now),
        "queued": queued["n"],
        "oldest_queued": queued["oldest"],
        "failed_24h": Submission.objects.filter(status=Status.ERROR, finished_at__gte=now - timedelta(hours=24))
        .count(),
        "lease_expired": Submission.objects.filter(status=Status.RUNNING, lease_expires_at__lt=now).count(),
        "active_sessions": Session.objects.alive(now).count(),
        "live_shares": live["n"],
        "live_bytes": live["size"] or 0,
    }


def data(now: datetime | None = None) -> dict:
    """The figures, at most CACHE_SECONDS old."""
    found = cache.get(CACHE_KEY)
    if found is None:
        found = compute(now or timezone.now())
        cache.set(CACHE_KEY, found, CACHE_SECONDS)
    return found


def chart(days: list[dict]) -> dict:
    """Stacked bars as SVG rectangles (drawn by the template: no script, no style attribute)."""
    peak = max((sum(day["counts"].values()) for day in days), default=0) or 1
    width = CHART_WIDTH / len(days)
    bars = []
    for i, day in enumerate(days):
        top = CHART_HEIGHT
        total = sum(day["counts"].values())
        for status, colour in COLOURS.items():
            n = day["counts"].get(status, 0)
            if not n:
                continue
            height = n / peak * CHART_HEIGHT
            top -= height
            bars.append({"x": round(i * width + BAR_GAP / 2, 1), "y": round(top, 1), "width": round(width - BAR_GAP, 1),
                         "height": round(height, 1), "colour": colour,
                         "title": f"{day['day']:%d/%m}: {n} {Status(status).label}",
                         "url": _changelist("submissions_submission", status__exact=status,
                                            **_local_day_bounds(day["day"]))})
        day["total"] = total
    return {"bars": bars, "peak": peak, "width": CHART_WIDTH, "height": CHART_HEIGHT,
            "first": days[0]["day"], "last": days[-1]["day"],
            "legend": [(Status(status).label, colour) for status, colour in COLOURS.items()]}


def context(now: datetime | None = None) -> dict:
    """What templates/admin/index.html draws."""
    found = data(now)
    now = found["now"]
    oldest = found["oldest_queued"]
    figures = [
        Figure("Na fila", str(found["queued"]), _changelist("submissions_submission", status__exact=Status.QUEUED)),
        Figure("Mais antiga na fila", _age(now - oldest) if oldest else "—",
               _changelist("submissions_submission", status__exact=Status.QUEUED)),
        Figure("Erros nas últimas 24 h", str(found["failed_24h"]),
               _changelist("submissions_submission", status__exact=Status.ERROR,
                           finished_at__gte=_moment(now - timedelta(hours=24)))),
        Figure("Em execução com reserva vencida", str(found["lease_expired"]),
               _changelist("submissions_submission", reserva="vencida")),
        Figure("Sessões ativas", str(found["active_sessions"]), _changelist("accounts_session", situacao="active")),
        Figure("Arquivos compartilhados ativos", f"{found['live_shares']} ({_size(found['live_bytes'])})",
               _changelist("fileshare_fileshareitem", situacao="live")),
    ]
    return {"figures": figures, "chart": chart([dict(day) for day in found["days"]]), "computed_at": now,
            "cache_seconds": CACHE_SECONDS}


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours // 24} dias"


def _size(size: int) -> str:
    return filesizeformat(size)
