"""The one query of every signed-in request: an alive session row, its user and the user's roles.

The ORM spends more CPU building this query (filter, Q, select_related, compile) than the
database spends answering it: about 1 ms against 0.2 ms (docs/BENCHMARKS.md). The SQL is the
ORM's own, compiled once per process and database; each request only binds its parameters,
fetches one row and builds the two instances with the fields' converters. The user's role
names ride along as a JSON array (a correlated subquery on the groups join), so a request
that checks a role makes no query of its own (accounts/roles.py reads them from the user).
"""

import json
from datetime import UTC, datetime
from functools import cache

from django.db import connections
from django.db.models import Aggregate, OuterRef, Subquery, TextField

_KEY = "0" * 64
_NOW = datetime(2000, 1, 2, 3, 4, 5, tzinfo=UTC)


@cache
def _compiled(model, using: str):
    from accounts.sessions import alive_q

    connection = connections[using]
    query = (model.objects.select_related("user").filter(alive_q(_NOW)).filter(key_hash=_KEY)
             .annotate(role_names=_role_names(model)).query)
    compiler = query.get_compiler(using)
    sql, params = compiler.as_sql()
    roles_column = compiler.annotation_col_map["role_names"]
    now = connection.ops.adapt_datetimefield_value(_NOW)
    names = ["key" if p == _KEY else "now" if p == now else None for p in params]
    if None in names:  # the query changed shape: refuse rather than bind the wrong values
        raise RuntimeError(f"unexpected parameters in the session query: {params!r}")
    # Where each model's columns are in the row, as the compiler laid them out.
    user_info = compiler.klass_info["related_klass_infos"][0]
    parts = []
    for info in (compiler.klass_info, user_info):
        part_model = info["model"]
        fields = part_model._meta.concrete_fields
        converters = [
            [(c, f.get_col(part_model._meta.db_table)) for c in
             connection.ops.get_db_converters(f.get_col(part_model._meta.db_table)) + f.get_db_converters(connection)]
            for f in fields
        ]
        positions = info["select_fields"]
        if len(positions) != len(fields) or positions != list(range(positions[0], positions[0] + len(fields))):
            raise RuntimeError(f"unexpected columns in the session query for {part_model.__name__}")
        parts.append((part_model, [f.attname for f in fields], converters, positions[0]))
    return sql, names, parts, roles_column


class _JsonArray(Aggregate):
    """The aggregated values as a JSON array: a name may contain any separator a joined string would use."""

    function = "JSON_AGG"
    output_field = TextField()  # parsed by _names: PostgreSQL's json arrives as a list, SQLite's as text

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)


def _role_names(model) -> Subquery:
    """The names of the session user's groups (NULL when there are none)."""
    memberships = model._meta.get_field("user").related_model.groups.through.objects
    return Subquery(memberships.filter(user_id=OuterRef("user_id")).values("user_id")
                    .annotate(names=_JsonArray("group__name")).values("names"))


def _names(value) -> list[str]:
    if value is None:  # no membership row to aggregate
        return []
    return sorted(json.loads(value) if isinstance(value, str) else value)


def load_alive(model, key_hash: str, now, using: str = "default"):
    """The alive session row with `key_hash` (its user attached), or None."""
    connection = connections[using]
    sql, names, parts, roles_column = _compiled(model, using)
    params = [key_hash if n == "key" else connection.ops.adapt_datetimefield_value(now) for n in names]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    instances = []
    for part_model, attnames, converters, start in parts:
        values = list(row[start:start + len(attnames)])
        for i, column in enumerate(converters):
            for converter, expression in column:
                values[i] = converter(values[i], expression, connection)
        instances.append(part_model.from_db(using, attnames, values))
    session, user = instances
    # LEFT JOIN: an anonymous session has no user and every user column is NULL.
    session.user = user if session.user_id is not None else None
    if session.user is not None:
        user._agepar_roles = _names(row[roles_column])  # what accounts.roles.user_roles reads
    return session
