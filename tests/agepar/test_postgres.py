"""agepar/postgres.py: the C timestamptz loader returns what Django's own did; the pool's check is cheap."""

import datetime as dt

import pytest
from django.db import connection

from agepar.postgres import UtcTimestamptzLoader

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="a psycopg loader")

VALUES = ["2026-11-22 17:11:15.918440+00", "1999-12-31 23:59:59+00", "2024-02-29 03:00:00.000001-03",
          "0001-01-01 00:00:00+00", "9999-12-31 23:59:59.999999+00"]


@postgres_only
@pytest.mark.django_db
def test_connections_use_it():
    connection.ensure_connection()
    oid = connection.connection.adapters.types["timestamptz"].oid
    assert connection.connection.adapters.get_loader(oid, 0) is UtcTimestamptzLoader


@postgres_only
@pytest.mark.django_db
def test_values_are_those_of_djangos_loader():
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    sql = "SELECT " + ", ".join(f"'{v}'::timestamptz" for v in VALUES) + ", NULL::timestamptz"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        fast = cursor.fetchone()
    with connection.cursor() as cursor:
        register_tzloader(dt.UTC, cursor.cursor)  # Django's pure-Python loader, on this cursor only
        cursor.execute(sql)
        django = cursor.fetchone()
    assert fast == django
    assert [v.tzinfo if v else None for v in fast] == [dt.UTC] * len(VALUES) + [None]
    assert fast[2] == dt.datetime(2024, 2, 29, 6, 0, 0, 1, tzinfo=dt.UTC)


def test_a_database_time_zone_is_refused_by_a_system_check(monkeypatch):
    """The fast loader and the list rows assume UTC connections; agepar.E003 keeps them so."""
    from django.conf import settings

    from agepar.checks import utc_connections

    assert utc_connections(None) == []
    monkeypatch.setitem(settings.DATABASES["default"], "TIME_ZONE", "America/Sao_Paulo")
    assert [e.id for e in utc_connections(None)] == ["agepar.E003"]


@pytest.fixture
def raw_connection():
    import psycopg

    from tests import live

    conn = psycopg.connect(live.test_database_url(), autocommit=True)
    yield conn
    conn.close()


@postgres_only
@pytest.mark.django_db
def test_djangos_pool_checks_connections_with_ours():
    from agepar.postgres import check_connection

    connection.ensure_connection()
    assert connection.pool is not None, "the settings pool PostgreSQL connections"
    assert connection.pool._check is check_connection


@postgres_only
@pytest.mark.django_db
def test_pool_check_skips_the_round_trip_on_a_quiet_connection(raw_connection, monkeypatch):
    from psycopg_pool import ConnectionPool

    from agepar.postgres import check_connection

    calls = []
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(lambda conn: calls.append(conn)))
    raw_connection.execute("SELECT 1").fetchall()
    check_connection(raw_connection)
    assert calls == []


@postgres_only
@pytest.mark.django_db
def test_pool_check_refuses_a_connection_the_server_ended(raw_connection):
    import time

    import psycopg

    from agepar.postgres import check_connection

    pid = raw_connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the FATAL message and EOF arrive asynchronously
        try:
            check_connection(raw_connection)
        except psycopg.OperationalError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("a terminated backend passed the pool check")
    with pytest.raises((psycopg.OperationalError, ConnectionError)):
        check_connection(raw_connection)  # and keeps failing


@postgres_only
@pytest.mark.django_db
def test_pool_check_refuses_a_closed_connection(raw_connection):
    from agepar.postgres import check_connection

    raw_connection.close()
    with pytest.raises(ConnectionError):
        check_connection(raw_connection)


def test_the_socket_probe_works_on_descriptors_above_1023():
    """select() cannot watch them, and a pooled connection may well get one in a busy worker."""
    import os
    import resource
    import socket
    from types import SimpleNamespace

    from agepar.postgres import _server_spoke

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1100 and hard != resource.RLIM_INFINITY and hard < 1100:
        pytest.skip("the open-files limit is below 1100")
    ours, server = socket.socketpair()
    try:
        if soft < 1100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (1100, hard))
        high = os.dup2(ours.fileno(), 1050)
        conn = SimpleNamespace(pgconn=SimpleNamespace(socket=high))
        try:
            assert _server_spoke(conn) is False
            server.sendall(b"E")  # e.g. a FATAL message from a server shutting down
            assert _server_spoke(conn) is True
        finally:
            os.close(high)
    finally:
        ours.close()
        server.close()
        if soft < 1100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@postgres_only
@pytest.mark.django_db
def test_connections_send_tcp_keepalives():
    connection.ensure_connection()
    parameters = connection.connection.info.get_parameters()
    assert (parameters.get("keepalives_idle"), parameters.get("keepalives_count")) == ("30", "3")
