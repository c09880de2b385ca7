"""The session engine: idle timeout, absolute lifetime, few writes, async API, cookie flags."""

import itertools
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Session
from accounts.roles import user_roles
from accounts.sessions import SessionStore
from tests.accounts.conftest import api_login, moved_clock
from tests.conftest import make_client

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


def _status_at(client, delta):
    with moved_clock(delta):
        return client.get("/api/me").status_code


def test_an_idle_session_dies_after_the_idle_timeout(owner, signed_in):
    client = signed_in(owner)
    assert _status_at(client, 8 * H - timedelta(minutes=2)) == 200
    # That request counted as activity: idle time runs from it.
    assert _status_at(client, 11 * H) == 200
    idle = signed_in(owner)
    assert _status_at(idle, 8 * H + timedelta(seconds=1)) == 401


def test_an_active_session_still_ends_at_its_absolute_lifetime(owner, signed_in):
    # Activity every 7 h keeps it from idling, not from ending.
    client = signed_in(owner)
    assert [_status_at(client, n * H) for n in (7, 11)] == [200, 200]
    assert _status_at(client, 12 * H + timedelta(seconds=1)) == 401


def test_remember_me_extends_only_the_absolute_lifetime(owner, signed_in):
    client = signed_in(owner, remember_me=True)
    assert [_status_at(client, n * H) for n in (7, 14, 21)] == [200, 200, 200]
    # Still 8 h of idleness kill it.
    assert _status_at(client, 29 * H + timedelta(seconds=1)) == 401
    row = Session.objects.get()
    assert row.absolute_expires_at - row.created_at == timedelta(days=30)
    active = signed_in(owner, remember_me=True)
    for hours in range(7, 30 * 24, 7):
        assert _status_at(active, hours * H) == 200
    assert _status_at(active, 30 * 24 * H + timedelta(seconds=1)) == 401


def test_the_cookie_lives_as_long_as_the_absolute_lifetime(owner):
    client = make_client()
    api_login(client, owner.email)
    assert int(client.cookies[settings.SESSION_COOKIE_NAME]["max-age"]) in range(12 * 3600 - 5, 12 * 3600 + 1)
    api_login(client, owner.email, remember_me=True)
    assert int(client.cookies[settings.SESSION_COOKIE_NAME]["max-age"]) > 29 * 24 * 3600


def test_an_authenticated_get_is_one_query_for_session_and_user_and_writes_nothing(owner, signed_in):
    client = signed_in(owner)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/me").status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    # One SELECT joins session and user and reads the user's current roles (the response lists them).
    assert len(sql) == 1, sql
    assert "accounts_session" in sql[0] and "accounts_user" in sql[0] and "auth_group" in sql[0]
    assert not any(s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")) for s in sql)

    with moved_clock(timedelta(seconds=61)), CaptureQueriesContext(connection) as queries:
        client.get("/api/me")
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1 and "last_seen_at" in updates[0]
    row = Session.objects.get()
    assert row.last_seen_at > row.created_at


def test_the_async_session_api_stores_user_ip_and_user_agent(owner):
    owner.groups.add(Group.objects.get(name="ferias"))  # the role groups exist after migrate

    async def sign_in():
        store = SessionStore(ip="203.0.113.4", user_agent="AsyncClient/1")
        await store.aset(auth.SESSION_KEY, str(owner.pk))
        await store.aset(auth.BACKEND_SESSION_KEY, settings.AUTHENTICATION_BACKENDS[-1])
        await store.aset(auth.HASH_SESSION_KEY, owner.get_session_auth_hash())
        await store.acreate()
        return store.session_key, store

    key, store = async_to_sync(sign_in)()
    row = Session.objects.get()
    assert (row.user, row.ip, row.user_agent, row.roles) == (owner, "203.0.113.4", "AsyncClient/1", ["ferias"])
    assert store.public_id == row.public_id

    async def load_and_bind():
        anonymous = SessionStore(ip="203.0.113.5", user_agent="AsyncClient/2")
        await anonymous.aset("x", 1)
        await anonymous.asave()
        await anonymous.aset(auth.SESSION_KEY, str(owner.pk))
        await anonymous.asave()
        reloaded = SessionStore(key)
        return await reloaded.aget(auth.SESSION_KEY), anonymous.public_id

    user_id, second = async_to_sync(load_and_bind)()
    assert user_id == str(owner.pk)
    assert Session.objects.get(public_id=second).user == owner


def test_the_async_path_loads_session_user_and_roles_in_one_query(owner, signed_in):
    owner.groups.add(Group.objects.get_or_create(name="ferias")[0])
    key = signed_in(owner).cookies[settings.SESSION_COOKIE_NAME].value

    async def load():
        store = SessionStore(key)
        assert await store.aget(auth.SESSION_KEY) == str(owner.pk)
        return store

    with CaptureQueriesContext(connection) as queries:
        store = async_to_sync(load)()
        user = store.bound_user()
        assert (user, user_roles(user)) == (owner, ["ferias"])
    assert len(queries.captured_queries) == 1, [q["sql"] for q in queries.captured_queries]


def test_a_store_without_request_information_still_works(owner):
    # The test client's force_login builds a store with no request: no IP, no user agent.
    client = make_client(owner)
    assert client.get("/api/me").status_code == 200
    assert Session.objects.values_list("ip", "user_agent").get() == (None, "")


def test_the_session_cookie_in_production_settings(owner):
    # The test settings are the production settings (DEBUG off, secure cookies).
    assert not settings.DEBUG and settings.SESSION_COOKIE_SECURE
    client = make_client()
    response = api_login(client, owner.email)
    header = response.cookies[settings.SESSION_COOKIE_NAME].output()
    assert header.startswith("Set-Cookie: __Host-sessionid=")
    parts = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")}
    assert {"secure", "httponly", "path", "samesite"} <= set(parts)
    assert parts["path"] == "Path=/" and parts["samesite"] == "SameSite=Lax"
    assert "domain" not in parts


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_session_cookie_from_a_real_production_server(owner, tmp_path):
    import requests
    from django.contrib.auth.hashers import make_password

    from tests.live import gunicorn

    # The server runs the production hashers (Argon2), not the tests' fast MD5.
    owner.password = make_password("S3nha-de-teste-forte", hasher="argon2")
    owner.save()

    with gunicorn(tmp_path, SESSION_COOKIE_SECURE="1", CSRF_COOKIE_SECURE="0") as base:
        http = requests.Session()
        token = http.get(f"{base}/api/auth/csrf", timeout=10).json()["csrfToken"]
        response = http.post(f"{base}/api/auth/login", json={"identifier": owner.email,
                                                             "password": "S3nha-de-teste-forte"},
                             headers={"X-CSRFToken": token}, timeout=10)
    assert response.status_code == 200, response.text
    header = [v for k, v in response.raw.headers.items() if k.lower() == "set-cookie" and "sessionid" in v][0]
    assert header.startswith("__Host-sessionid=")
    flags = {part.strip().lower() for part in header.split(";")}
    assert {"secure", "httponly", "path=/", "samesite=lax"} <= flags


def test_roles_come_with_the_session_and_are_current_on_every_request(owner, signed_in):
    client = signed_in(owner)
    assert client.get("/api/me").json()["roles"] == []
    # Any character may be in a group name: the names travel as a JSON array, not a joined string.
    for name in ("ferias", 'a,b "c"', "ação"):
        owner.groups.add(Group.objects.get_or_create(name=name)[0])
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/me").json()["roles"] == sorted(["ferias", 'a,b "c"', "ação"])
    assert len(queries.captured_queries) == 1
    owner.groups.clear()
    assert client.get("/api/me").json()["roles"] == []


def test_a_loaded_row_is_alive_exactly_when_the_queryset_says_so(owner):
    # The loader judges a row it fetched by key (Session.is_alive); filters use SessionQuerySet.alive.
    now = timezone.now()
    second = timedelta(seconds=1)
    for n, (revoked, idle, absolute) in enumerate(itertools.product(
            (None, now - second), (now - second, now, now + second), (now - second, now, now + second))):
        Session.objects.create(key_hash=f"{n:064d}", session_data="", user=owner, revoked_at=revoked,
                               expire_date=idle, absolute_expires_at=absolute)
    rows = list(Session.objects.all())
    alive = set(Session.objects.alive(now).values_list("pk", flat=True))
    assert alive == {row.pk for row in rows if row.is_alive(now)} and len(alive) == 1
    expired = set(Session.objects.expired(now).values_list("pk", flat=True))
    assert expired == {row.pk for row in rows if row.status_at(now) == "expired"} and len(expired) == 8


# --- outside the request path (issue 14 item 18; Django's own suite: test_django_session_suite.py) ----------

def test_a_store_without_a_key_loads_as_empty_and_exists_is_false():
    store = SessionStore()
    assert store.load() == {} and store.session_key is None
    assert store.exists(None) is False and store.exists("") is False
    assert async_to_sync(store.aexists)(None) is False
    assert async_to_sync(SessionStore().aload)() == {}


def test_a_save_of_a_session_that_died_meanwhile_does_not_create_one(owner):
    from django.contrib.sessions.backends.base import UpdateError

    store = _signed_in_store(owner)
    Session.objects.update(revoked_at=timezone.now())
    late = SessionStore(store.session_key)
    with pytest.raises(UpdateError):
        late.save()
    assert Session.objects.count() == 1


def _signed_in_store(user) -> SessionStore:
    store = SessionStore()
    store[auth.SESSION_KEY] = str(user.pk)
    store.save(must_create=True)
    return store


def test_set_expiry_is_written_to_the_row_within_the_absolute_lifetime(owner):
    store = _signed_in_store(owner)
    row = Session.objects.get()
    soon = timezone.now() + timedelta(minutes=5)
    store.set_expiry(soon)
    store.save()
    assert Session.objects.get().expire_date == soon
    assert SessionStore(store.session_key).get_expiry_age() <= 300

    store.set_expiry(10 * 24 * 3600)  # ten days of inactivity: no longer than the absolute lifetime
    store.save()
    assert Session.objects.get().expire_date == row.absolute_expires_at

    store.set_expiry(None)  # back to the idle timeout
    store.save()
    expire = Session.objects.get().expire_date
    assert abs(expire - (timezone.now() + timedelta(seconds=settings.SESSION_IDLE_TIMEOUT))) < timedelta(seconds=5)

    store.set_expiry(-timedelta(seconds=1))  # in the past: the session is over
    store.save()
    assert not Session.objects.alive(timezone.now()).exists()
    assert SessionStore(store.session_key).load() == {}


def test_a_custom_inactivity_window_is_what_the_touch_extends(owner):
    store = SessionStore()
    store[auth.SESSION_KEY] = str(owner.pk)
    store.set_expiry(3600)  # before the first save: the new row carries it
    store.save(must_create=True)
    assert Session.objects.get().expire_date - Session.objects.get().created_at == H
    with moved_clock(timedelta(minutes=50)):
        assert SessionStore(store.session_key).load()[auth.SESSION_KEY] == str(owner.pk)  # touched
    with moved_clock(timedelta(minutes=100)):
        assert SessionStore(store.session_key).load() != {}  # 50 minutes after the touch: alive
    with moved_clock(timedelta(minutes=161)):
        assert SessionStore(store.session_key).load() == {}  # 61 minutes idle


@pytest.mark.parametrize("idle_timeout", [10, 30])
def test_a_short_idle_timeout_keeps_a_session_used_every_few_seconds(owner, signed_in, settings, idle_timeout):
    """An idle timeout below twice the 60 s touch interval: the touch comes at least every half timeout,
    so a session used every 3 s lives on (it died once the first timeout passed), and dies when left idle."""
    settings.SESSION_IDLE_TIMEOUT = idle_timeout
    client = signed_in(owner)
    seconds = range(3, 3 * idle_timeout, 3)
    assert [_status_at(client, timedelta(seconds=s)) for s in seconds] == [200] * len(seconds)
    last = seconds[-1]
    assert _status_at(client, timedelta(seconds=last + idle_timeout + 1)) == 401


def test_a_short_inactivity_window_from_set_expiry_is_touched_in_time(owner):
    store = SessionStore()
    store[auth.SESSION_KEY] = str(owner.pk)
    store.set_expiry(10)
    store.save(must_create=True)
    for second in range(3, 40, 3):
        with moved_clock(timedelta(seconds=second)):
            assert SessionStore(store.session_key).load() != {}, second
    with moved_clock(timedelta(seconds=39 + 11)):
        assert SessionStore(store.session_key).load() == {}
