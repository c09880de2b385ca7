"""The one query of every signed-in request: an alive session row and its user, by key hash.

The ORM spends more CPU building this query (filter, Q, select_related, compile) than the
database spends answering it: about 1 ms against 0.2 ms (docs/BENCHMARKS.md). The SQL is the
ORM's own, compiled once per process and database; each request only binds its parameters,
fetches one row and builds the two instances with the fields' converters.
"""

from datetime import UTC, datetime
from functools import cache

from django.db import connections

_KEY = "0" * 64
_NOW = datetime(2000, 1, 2, 3, 4, 5, tzinfo=UTC)


@cache
def _compiled(model, using: str):
    from accounts.sessions import alive_q

    connection = connections[using]
    query = model.objects.select_related("user").filter(alive_q(_NOW)).filter(key_hash=_KEY).query
    sql, params = query.get_compiler(using).as_sql()
    now = connection.ops.adapt_datetimefield_value(_NOW)
    names = ["key" if p == _KEY else "now" if p == now else None for p in params]
    if None in names:  # the query changed shape: refuse rather than bind the wrong values
        raise RuntimeError(f"unexpected parameters in the session query: {params!r}")
    user_model = model._meta.get_field("user").related_model
    parts = []
    for part_model in (model, user_model):
        fields = part_model._meta.concrete_fields
        converters = [
            [(c, f.get_col(part_model._meta.db_table)) for c in
             connection.ops.get_db_converters(f.get_col(part_model._meta.db_table)) + f.get_db_converters(connection)]
            for f in fields
        ]
        parts.append((part_model, [f.attname for f in fields], converters))
    return sql, names, parts


def load_alive(model, key_hash: str, now, using: str = "default"):
    """The alive session row with `key_hash` (its user attached), or None."""
    connection = connections[using]
    sql, names, parts = _compiled(model, using)
    params = [key_hash if n == "key" else connection.ops.adapt_datetimefield_value(now) for n in names]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    instances, start = [], 0
    for part_model, attnames, converters in parts:
        values = list(row[start:start + len(attnames)])
        start += len(attnames)
        for i, column in enumerate(converters):
            for converter, expression in column:
                values[i] = converter(values[i], expression, connection)
        instances.append(part_model.from_db(using, attnames, values))
    session, user = instances
    # LEFT JOIN: an anonymous session has no user and every user column is NULL.
    session.user = user if session.user_id is not None else None
    return session
