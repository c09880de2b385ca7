"""deploy/postgres/roles.sql: the migrator role owns and migrates the schema; the app role only reads
and writes rows, and may never rewrite or delete the audit trail (DESIGN §4, issue 7 item 1).

One throwaway database: roles applied while it is empty, then `migrate` run as the migrator the
way production does (deploy/as-migrator.sh), so every table here was created after roles.sql
and its grants come from the default privileges alone.
"""

import pytest
from psycopg import errors

from tests.ops.pg import RolesDatabase

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# Tables only their owner may rewrite (deploy/postgres/append-only.sql).
APPEND_ONLY = ("audits_auditevent", "audits_auditseal")


@pytest.fixture(scope="module")
def roles_db(postgres_superuser, tmp_path_factory):
    db = RolesDatabase.create("roles")
    try:
        var_dir = tmp_path_factory.mktemp("var")
        migrated = db.as_migrator("migrate", "--noinput", var_dir=var_dir)
        assert migrated.returncode == 0, migrated.stderr
        db.var_dir = var_dir
        yield db
    finally:
        db.drop()


def _tables(conn) -> list[str]:
    return [row[0] for row in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]


def _insert_audit(conn, action: str, at: str = "now()") -> int:
    return conn.execute(
        f"INSERT INTO audits_auditevent (at, actor_label, action, status, kind, target_type, target_id,"  # noqa: S608
        f" user_agent, request_id, details) VALUES ({at}, 'ops-test', %s, 'success', '', '', '', '', '', '{{}}')"
        " RETURNING id", [action]).fetchone()[0]


def test_migrate_ran_as_the_migrator_which_owns_every_table(roles_db):
    with roles_db.connect("owner") as conn:
        owners = dict(conn.execute("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'"))
    assert "audits_auditevent" in owners and "submissions_submission" in owners
    assert set(owners.values()) == {roles_db.owner}


def test_the_app_role_cannot_create_alter_or_drop_tables(roles_db):
    with roles_db.connect("app") as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE sneaky (id int)")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE accounts_user ADD COLUMN sneaky int")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DROP TABLE auth_group")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("TRUNCATE auth_group CASCADE")


def test_the_app_role_has_row_access_to_every_table_created_by_migrations(roles_db):
    with roles_db.connect("app") as conn:
        tables = _tables(conn)
        missing = [t for t in tables if t not in APPEND_ONLY and not t.startswith("audits_auditevent_")
                   and not conn.execute("SELECT has_table_privilege(%s, 'SELECT, INSERT, UPDATE, DELETE')",
                                        [t]).fetchone()[0]]
        sequences = [row[0] for row in conn.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")]
        no_usage = [s for s in sequences if not conn.execute(
            "SELECT has_sequence_privilege(%s, 'USAGE')", [s]).fetchone()[0]]
    assert len(tables) > 10 and missing == []
    assert sequences and no_usage == []


def test_the_app_role_does_normal_crud(roles_db):
    with roles_db.connect("app") as conn:
        group_id = conn.execute("INSERT INTO auth_group (name) VALUES ('ops-crud') RETURNING id").fetchone()[0]
        conn.execute("UPDATE auth_group SET name = 'ops-crud-2' WHERE id = %s", [group_id])
        assert conn.execute("SELECT name FROM auth_group WHERE id = %s", [group_id]).fetchone()[0] == "ops-crud-2"
        assert conn.execute("DELETE FROM auth_group WHERE id = %s", [group_id]).rowcount == 1


def test_the_app_role_may_append_seals_but_never_rewrite_them(roles_db):
    with roles_db.connect("app") as conn:
        privileges = conn.execute(
            "SELECT has_table_privilege(t, 'SELECT'), has_table_privilege(t, 'INSERT'),"
            " has_table_privilege(t, 'UPDATE'), has_table_privilege(t, 'DELETE'),"
            " has_table_privilege(t, 'TRUNCATE') FROM (VALUES ('audits_auditseal')) v(t)").fetchone()
    assert privileges == (True, True, False, False, False)


def test_the_app_role_inserts_audit_rows_but_cannot_update_delete_or_truncate_them(roles_db):
    with roles_db.connect("app") as conn:
        event_id = _insert_audit(conn, "ops.inserted")
        assert conn.execute("SELECT action FROM audits_auditevent WHERE id = %s", [event_id]).fetchone() == (
            "ops.inserted",)
        for statement in ("UPDATE audits_auditevent SET action = 'ops.rewritten' WHERE id = %s",
                          "DELETE FROM audits_auditevent WHERE id = %s"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement, [event_id])
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("TRUNCATE audits_auditevent")
        # The trigger's retention gate is a plain setting anyone may set: the privilege, not the
        # gate, is what keeps the app role out.
        with conn.transaction():
            conn.execute("SET LOCAL agepar.audit_prune = 'on'")
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("DELETE FROM audits_auditevent WHERE id = %s", [event_id])
        assert conn.execute("SELECT action FROM audits_auditevent WHERE id = %s", [event_id]).fetchone() == (
            "ops.inserted",)


def test_tables_the_migrator_creates_later_are_granted_without_a_manual_grant(roles_db):
    with roles_db.connect("owner") as conn:
        conn.execute("CREATE TABLE ops_later (id bigserial PRIMARY KEY, note text)")
    try:
        with roles_db.connect("app") as conn:
            row_id = conn.execute("INSERT INTO ops_later (note) VALUES ('a') RETURNING id").fetchone()[0]
            conn.execute("UPDATE ops_later SET note = 'b' WHERE id = %s", [row_id])
            assert conn.execute("DELETE FROM ops_later WHERE id = %s", [row_id]).rowcount == 1
    finally:
        with roles_db.connect("owner") as conn:
            conn.execute("DROP TABLE ops_later")


def test_a_later_audit_partition_is_append_only_for_the_app_after_migrate(roles_db):
    # A later migration adding an audit table (e.g. a monthly partition) gets the default
    # privileges first; the post-migrate hook takes the rewrites back.
    with roles_db.connect("owner") as conn:
        conn.execute("CREATE TABLE audits_auditevent_2099_01 (LIKE audits_auditevent INCLUDING DEFAULTS)")
    try:
        with roles_db.connect("app") as conn:
            granted = conn.execute("SELECT has_table_privilege('audits_auditevent_2099_01', 'DELETE')").fetchone()
        assert granted == (True,)
        migrated = roles_db.as_migrator("migrate", "--noinput", var_dir=roles_db.var_dir)
        assert migrated.returncode == 0, migrated.stderr
        with roles_db.connect("app") as conn:
            privileges = conn.execute(
                "SELECT has_table_privilege(t, 'SELECT'), has_table_privilege(t, 'INSERT'),"
                " has_table_privilege(t, 'UPDATE'), has_table_privilege(t, 'DELETE'),"
                " has_table_privilege(t, 'TRUNCATE') FROM (VALUES ('audits_auditevent_2099_01')) v(t)").fetchone()
        assert privileges == (True, True, False, False, False)
    finally:
        with roles_db.connect("owner") as conn:
            conn.execute("DROP TABLE audits_auditevent_2099_01")


def _privileges(conn, table: str) -> tuple:
    return conn.execute("SELECT has_table_privilege(t, 'SELECT'), has_table_privilege(t, 'INSERT'),"
                        " has_table_privilege(t, 'UPDATE'), has_table_privilege(t, 'DELETE'),"
                        " has_table_privilege(t, 'TRUNCATE') FROM (VALUES (%s)) v(t)", [table]).fetchone()


def _partition_of(conn, event_id: int) -> str:
    return conn.execute("SELECT tableoid::regclass::text FROM audits_auditevent WHERE id = %s",
                        [event_id]).fetchone()[0]


def test_every_audit_partition_is_append_only_for_the_app_and_refuses_rewrites_to_the_owner(roles_db):
    with roles_db.connect("owner") as conn:
        current = _partition_of(conn, _insert_audit(conn, "ops.partitioned"))
        # An event of a month with no partition lands in DEFAULT; audits_partitions (run as the
        # migrator, as run_maintenance is) gives it a partition of its own month.
        stranded = _insert_audit(conn, "ops.stranded", at="now() - interval '400 days'")
        assert _partition_of(conn, stranded) == "audits_auditevent_default"
    made = roles_db.as_migrator("audits_partitions", var_dir=roles_db.var_dir)
    assert made.returncode == 0, made.stderr
    with roles_db.connect("owner") as conn:
        later = _partition_of(conn, stranded)
        partitions = [row[0] for row in conn.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'audits_auditevent'::regclass")]
    assert later.startswith("audits_auditevent_2") and f"created {later}" in made.stdout
    assert {current, later, "audits_auditevent_default"} <= set(partitions)
    with roles_db.connect("app") as conn:
        assert {table: _privileges(conn, table) for table in partitions} == {
            table: (True, True, False, False, False) for table in partitions}
        for table in (current, later):
            for statement in (f"UPDATE {table} SET action = 'ops.rewritten'", f"DELETE FROM {table}",  # noqa: S608
                              f"TRUNCATE {table}"):
                with pytest.raises(errors.InsufficientPrivilege):
                    conn.execute(statement)
    with roles_db.connect("owner") as conn:
        for table in (current, later):  # the owner may, the trigger refuses
            for statement in (f"UPDATE {table} SET action = 'ops.rewritten'", f"DELETE FROM {table}"):  # noqa: S608
                with pytest.raises(errors.RestrictViolation, match="append-only"):
                    conn.execute(statement)


def test_reapplying_roles_sql_is_harmless(roles_db):
    roles_db.apply_roles()
    with roles_db.connect("app") as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DELETE FROM audits_auditevent")
        assert conn.execute("SELECT has_table_privilege('accounts_user', 'UPDATE')").fetchone() == (True,)


def test_both_roles_are_plain_logins(roles_db):
    with roles_db.connect("owner") as conn:
        flags = dict((row[0], row[1:]) for row in conn.execute(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles"
            " WHERE rolname = ANY(%s)", [[roles_db.owner, roles_db.app]]))
        connect_to_public = conn.execute("SELECT has_database_privilege('public', current_database(), 'CONNECT')"
                                         ).fetchone()[0]
        app_settings = conn.execute("SELECT rolconfig FROM pg_roles WHERE rolname = %s", [roles_db.app]).fetchone()[0]
    assert flags == {roles_db.owner: (False,) * 5, roles_db.app: (False,) * 5}
    assert connect_to_public is False
    # A runaway statement or an abandoned transaction cannot hold an app connection forever.
    assert set(app_settings) == {"statement_timeout=120s", "idle_in_transaction_session_timeout=5min"}


def test_prune_audits_runs_as_the_migrator_and_is_refused_to_the_app_role(roles_db):
    with roles_db.connect("app") as conn:
        old = [_insert_audit(conn, "ops.old", "now() - interval '400 days'") for _ in range(3)]
        recent = _insert_audit(conn, "ops.recent")

    refused = roles_db.as_app("prune_audits", "--older-than", "365d", var_dir=roles_db.var_dir)
    assert refused.returncode != 0
    # Dropping a whole month needs the owner; deleting rows, a privilege the app role lacks.
    assert "must be owner of table audits_auditevent" in refused.stderr or "permission denied" in refused.stderr
    with roles_db.connect("app") as conn:
        assert conn.execute("SELECT count(*) FROM audits_auditevent WHERE id = ANY(%s)", [old]).fetchone() == (3,)

    pruned = roles_db.as_migrator("prune_audits", "--older-than", "365d", var_dir=roles_db.var_dir)
    assert pruned.returncode == 0, pruned.stderr
    with roles_db.connect("app") as conn:
        assert conn.execute("SELECT count(*) FROM audits_auditevent WHERE id = ANY(%s)", [old]).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM audits_auditevent WHERE id = %s", [recent]).fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM audits_auditevent WHERE action = 'audit.pruned'").fetchone()[0] >= 1


def test_run_maintenance_succeeds_as_the_migrator(roles_db):
    result = roles_db.as_migrator("run_maintenance", var_dir=roles_db.var_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "prune_audits: ok" in result.stdout
    assert "FAILED" not in result.stdout + result.stderr

