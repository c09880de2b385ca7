"""The one query of every signed-in request: a session row by its key hash, its user and the user's roles.

Explicit SQL, every table and column named from the models' `_meta`: no queryset is built and
compiled per request (the ORM spends more CPU on that than the database spends answering; the
figures are in docs/BENCHMARKS.md). The values go through the converters the ORM itself applies
(the backend's and each field's `get_db_converters`, the hooks backends and custom fields
implement) and the instances are made with `Model.from_db`. The user's role names ride along
as a JSON array (accounts.roles.role_names_sql), so a request that checks a role makes no query
of its own. Whether the row is alive is the engine's question (Session.is_alive).
"""

from functools import cache
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import ForeignKey, Model

from accounts.roles import column, parse_role_names, remember_roles, role_names_sql

# A model class passed in: the engine passes accounts.models.Session (importing it here would close a circle).
M = TypeVar("M", bound=Model)


@cache
def _statement(model: type[Model], using: str) -> tuple[str, list, list]:
    """The SQL (one parameter: the key hash) and, per model, its fields with their column expressions."""
    connection = connections[using]
    q = connection.ops.quote_name
    user_model = get_user_model()  # what Session.user points at
    session_table, user_table = q(model._meta.db_table), q(user_model._meta.db_table)
    parts = [[(field, field.get_col(part._meta.db_table)) for field in part._meta.concrete_fields]
             for part in (model, user_model)]
    columns = [f"{q(part._meta.db_table)}.{q(column(part, field.name))}"
               for part, fields in zip((model, user_model), parts, strict=True) for field, _ in fields]
    user_fk = f"{session_table}.{q(column(model, 'user'))}"
    sql = (f"SELECT {', '.join(columns)}, {role_names_sql(connection, user_fk)} "  # noqa: S608 (names from _meta)
           f"FROM {session_table} LEFT OUTER JOIN {user_table} "
           f"ON {user_table}.{q(column(user_model, 'pk'))} = {user_fk} "
           f"WHERE {session_table}.{q(column(model, 'key_hash'))} = %s")
    return sql, parts[0], parts[1]


@cache
def _user_fk(model: type[Model]) -> ForeignKey:
    """The session model's `user` foreign key."""
    field = model._meta.get_field("user")
    if not isinstance(field, ForeignKey):
        raise LookupError(f"{model.__name__}.user is not a foreign key")
    return field


def _instance(model: type[M], fields: list, values, connection, using: str) -> M:
    converted = []
    for (field, expression), value in zip(fields, values, strict=True):
        for converter in connection.ops.get_db_converters(expression) + field.get_db_converters(connection):
            value = converter(value, expression, connection)
        converted.append(value)
    return model.from_db(using, [field.attname for field, _ in fields], converted)


def load_session(model: type[M], key_hash: str, using: str = "default") -> M | None:
    """The session row with `key_hash` (alive or not), its user attached and carrying its role names; or None."""
    connection = connections[using]
    sql, session_fields, user_fields = _statement(model, using)
    with connection.cursor() as cursor:
        cursor.execute(sql, [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(session_fields)
    session = _instance(model, session_fields, row[:split], connection, using)
    user_fk = _user_fk(model)
    if getattr(session, user_fk.attname) is None:  # anonymous: the LEFT JOIN left every user column NULL
        setattr(session, user_fk.name, None)
        return session
    user = _instance(get_user_model(), user_fields, row[split:-1], connection, using)
    remember_roles(user, parse_role_names(row[-1]))
    setattr(session, user_fk.name, user)
    return session
