"""manage.py clearsessions: expired sessions go now, revoked ones after SESSION_REVOKED_RETENTION."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Session, SessionQuerySet
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _session(name, *, idle_in=timedelta(hours=1), absolute_in=timedelta(hours=2), revoked_ago=None):
    now = timezone.now()
    return Session.objects.create(
        key_hash=name.ljust(64, "0"), session_data="", user=UserFactory(), user_agent=name,
        expire_date=now + idle_in, absolute_expires_at=now + absolute_in,
        revoked_at=now - revoked_ago if revoked_ago is not None else None)


def test_expired_sessions_are_removed_and_revoked_ones_kept_for_the_retention(settings):
    settings.SESSION_REVOKED_RETENTION = 90 * 86400
    _session("live")
    _session("idle-expired", idle_in=-timedelta(seconds=1))
    _session("absolutely-expired", idle_in=timedelta(hours=1), absolute_in=-timedelta(seconds=1))
    _session("revoked-recently", revoked_ago=timedelta(days=89))
    _session("revoked-and-expired-recently", idle_in=-timedelta(days=1), revoked_ago=timedelta(days=1))
    _session("revoked-long-ago", revoked_ago=timedelta(days=91))
    out = StringIO()
    call_command("clearsessions", stdout=out)
    assert set(Session.objects.values_list("user_agent", flat=True)) == {
        "live", "revoked-recently", "revoked-and-expired-recently"}
    assert "2 expired deleted, 1 revoked (older than 90 days) deleted" in out.getvalue()


def test_it_works_in_batches(settings, monkeypatch):
    monkeypatch.setattr(SessionQuerySet, "CLEAR_BATCH", 2)
    for i in range(5):
        _session(f"old-{i}", idle_in=-timedelta(minutes=1))
    _session("live")
    call_command("clearsessions", stdout=StringIO())
    assert list(Session.objects.values_list("user_agent", flat=True)) == ["live"]
