"""Migration audits 0006 on a trail that already has events (issue 18 item 3): every row keeps its
id and every column value byte for byte, the ids go on from the old sequence, and a run that was
interrupted goes on from where it stopped, including the events written in between. The seals of
issue 19, made before, still verify after."""

import pytest

from tests.ops.pg import RolesDatabase

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# Every column in every shape it takes: NULLs, IPv6, UUIDs, JSON with accents and nesting, long text.
INSERT = """
INSERT INTO audits_auditevent (at, actor_id, actor_label, action, status, kind, target_type, target_id,
                               session_public_id, ip, user_agent, request_id, details)
SELECT now() - make_interval(days => n * 20, secs => n * 0.000123),
       CASE WHEN n %% 3 = 0 THEN NULL ELSE n END, 'pessoa' || n || '@agepar.go.gov.br',
       CASE WHEN n %% 2 = 0 THEN 'auth.login' ELSE 'submission.created' END,
       CASE WHEN n %% 5 = 0 THEN 'failure' ELSE 'success' END, 'área-' || (n %% 4), 'submissions.submission', n::text,
       CASE WHEN n %% 2 = 0 THEN gen_random_uuid() END,
       CASE n %% 3 WHEN 0 THEN NULL WHEN 1 THEN '2001:db8::' || n ELSE '10.0.0.' || (n %% 250) END::inet,
       repeat('Mozilla/5.0 ', n %% 40), 'req-' || n,
       jsonb_build_object('n', n, 'nome', 'João Ação', 'lista', jsonb_build_array(1.5, NULL, true, 'ü'))
  FROM generate_series(%s::int, %s::int) AS n
"""
SNAPSHOT = ("SELECT id, at::text, actor_id, actor_label, action, status, kind, target_type, target_id,"
            " session_public_id::text, host(ip), user_agent, request_id, details::text"
            " FROM audits_auditevent ORDER BY id")
# A run that dies after copying every row, before building the indexes (what a kill mid-migration leaves).
INTERRUPTED = """
from django.db import connection
from django.utils import timezone
from audits import partitions
def killed(*args):
    raise SystemExit("interrupted")
partitions._index_definitions = killed
partitions.convert(connection, now=timezone.now(), batch_size=7)
"""


@pytest.fixture
def plain_trail(postgres_superuser, tmp_path):
    """A database migrated up to audits 0005 (the plain table, and seals), with 40 events over two years."""
    db = RolesDatabase.create("partitioning")
    try:
        migrated = db.as_migrator("migrate", "--noinput", "audits", "0005", var_dir=tmp_path)
        assert migrated.returncode == 0, migrated.stderr
        with db.connect("owner") as conn:
            conn.execute(INSERT, [1, 40])
        yield db
    finally:
        db.drop()


def _snapshot(db) -> list[tuple]:
    with db.connect("owner") as conn:
        return conn.execute(SNAPSHOT).fetchall()


def _kind(db) -> str:
    with db.connect("owner") as conn:
        return conn.execute("SELECT relkind FROM pg_class WHERE oid = 'audits_auditevent'::regclass").fetchone()[0]


def _next_id(db) -> int:
    with db.connect("app") as conn:
        return conn.execute("INSERT INTO audits_auditevent (actor_label, action, status, kind, target_type, target_id,"
                            " user_agent, request_id, details) VALUES ('x', 'ops.next', 'success', '', '', '', '',"
                            " '', '{}') RETURNING id").fetchone()[0]


def test_partitioning_keeps_every_row_id_and_value_the_sequence_and_the_seals(plain_trail, tmp_path):
    sealed = plain_trail.as_migrator("seal_audits", var_dir=tmp_path)
    assert sealed.returncode == 0, sealed.stderr
    before = _snapshot(plain_trail)
    assert _kind(plain_trail) == "r" and len(before) > 40  # the 40 events and their seals' audit.sealed events
    migrated = plain_trail.as_migrator("migrate", "--noinput", var_dir=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert _kind(plain_trail) == "p"
    assert _snapshot(plain_trail) == before
    with plain_trail.connect("owner") as conn:
        spread = conn.execute("SELECT count(DISTINCT tableoid) FROM audits_auditevent").fetchone()[0]
        in_default = conn.execute("SELECT count(*) FROM audits_auditevent_default").fetchone()[0]
        indexes = {row[0] for row in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'audits_auditevent'")}
    assert spread >= 20 and in_default == 0  # 20 days apart over 26 months: each in its month
    assert {"audit_at_id", "audit_action_at", "audit_target_at", "audits_auditevent_pkey"} <= indexes
    # The seals (issue 19) hash every column of every event: they still verify, row for row.
    verified = plain_trail.as_migrator("verify_audits", var_dir=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert _next_id(plain_trail) == before[-1][0] + 1


def test_an_interrupted_partitioning_goes_on_from_where_it_stopped(plain_trail, tmp_path):
    died = plain_trail.as_migrator("shell", "-c", INTERRUPTED, var_dir=tmp_path)
    assert "interrupted" in died.stderr
    with plain_trail.connect("owner") as conn:
        assert conn.execute("SELECT count(*) FROM audits_auditevent_p").fetchone() == (40,)
        conn.execute(INSERT, [41, 45])  # written while the migration was down
    before = _snapshot(plain_trail)
    migrated = plain_trail.as_migrator("migrate", "--noinput", var_dir=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert _kind(plain_trail) == "p"
    assert _snapshot(plain_trail) == before and len(before) == 45
