"""Append-only audit trail, enforced by the database itself.

UPDATE is always refused. DELETE is refused unless the deleting transaction has opened the
retention gate, which only `manage.py prune_audits` does (see audits.services.audit_events_prune):
- PostgreSQL: `SET LOCAL agepar.audit_prune = 'on'` (a transaction-local setting). The app
  role additionally lacks the UPDATE/DELETE/TRUNCATE privileges (deploy/ Postgres roles), so
  only the migrator role can prune at all.
- SQLite: a row in `audits_prune_gate`, inserted and removed inside the pruning transaction,
  so no other connection ever sees it. (A trigger on a main-schema table cannot look at a
  per-connection TEMP table, which would otherwise be the natural marker.)

Row-level triggers fire only for rows actually touched, so a DELETE matching nothing still
succeeds, and inserts (including bulk inserts) are untouched.

SQLite drops a table's triggers when Django rebuilds the table (most ALTERs on SQLite do), so a
later migration that alters audits_auditevent must create these triggers again; the tests
that run raw UPDATE/DELETE against the migrated database catch a missing trigger.
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE TABLE audits_prune_gate (opened INTEGER NOT NULL)",
    """CREATE TRIGGER audits_auditevent_no_update BEFORE UPDATE ON audits_auditevent
       BEGIN SELECT RAISE(ABORT, 'audits_auditevent is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audits_auditevent_no_delete BEFORE DELETE ON audits_auditevent
       WHEN NOT EXISTS (SELECT 1 FROM audits_prune_gate)
       BEGIN SELECT RAISE(ABORT, 'audits_auditevent is append-only: DELETE refused (retention: manage.py prune_audits)'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS audits_auditevent_no_delete",
    "DROP TRIGGER IF EXISTS audits_auditevent_no_update",
    "DROP TABLE IF EXISTS audits_prune_gate",
]

POSTGRES_FORWARD = [
    """CREATE OR REPLACE FUNCTION audits_auditevent_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP = 'DELETE' AND current_setting('agepar.audit_prune', true) = 'on' THEN
               RETURN OLD;
           END IF;
           RAISE EXCEPTION 'audits_auditevent is append-only: % refused (retention: manage.py prune_audits)', TG_OP
               USING ERRCODE = 'restrict_violation';
       END
       $$""",
    """CREATE TRIGGER audits_auditevent_append_only BEFORE UPDATE OR DELETE ON audits_auditevent
       FOR EACH ROW EXECUTE FUNCTION audits_auditevent_append_only()""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS audits_auditevent_append_only ON audits_auditevent",
    "DROP FUNCTION IF EXISTS audits_auditevent_append_only()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(f"no append-only triggers for database {schema_editor.connection.vendor!r}")
        for sql in statements:
            schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("audits", "0002_indexes"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
            elidable=False,
        ),
    ]
