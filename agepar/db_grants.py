"""Keep the audit trail append-only for every role but its owner, after each `migrate`.

deploy/postgres/roles.sql gives the app role, through default privileges, SELECT/INSERT/UPDATE/
DELETE on every table the owner (migrator) role creates, so new migrations need no manual grant.
That would include the audit table and any partition a later migration adds: this post_migrate
hook runs deploy/postgres/append-only.sql, which takes UPDATE, DELETE and TRUNCATE on them back
from everyone but their owner. It does nothing on SQLite, nor when `migrate` runs as a role that
neither owns the tables nor is a superuser.
"""

from pathlib import Path

from django.db import connections

APPEND_ONLY_SQL = Path(__file__).resolve().parent.parent / "deploy" / "postgres" / "append-only.sql"


def revoke_append_only_rewrites(*, using: str = "default", **kwargs) -> None:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(APPEND_ONLY_SQL.read_text())
