"""The floor: the least a Python WSGI server can do to serve our list pages and creates.

Run under gunicorn with deploy/gunicorn.conf.py (same workers and threads as the app):
a psycopg pool, one keyset query per page (the same columns, filters, ordering, row-value cursor
and index as the API), orjson, no framework, no session. POST /submissions inserts the same two
rows as the app's create (the submission and its audit event) in one transaction.

    DATABASE_URL=postgresql://... gunicorn -c deploy/gunicorn.conf.py bench.floor_app:application
"""

import os
from datetime import UTC, datetime
from urllib.parse import parse_qs

import orjson
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

PAGE = 50
# name -> (table, columns, {query parameter: condition}, base condition, ordering): the API list fields,
# filters and ordering (newest first; the last column unique).
LISTS = {
    "submissions": ("submissions_submission",
                    "id, kind, version, status, error, attempts, created_at, updated_at, started_at, finished_at, "
                    "actor_id, actor_nome, actor_email, actor_cpf",
                    {"actor": "actor_id = %s", "kind": "kind = %s", "status": "status = %s",
                     "created_after": "created_at >= %s", "created_before": "created_at < %s"}, "deleted_at IS NULL",
                    ("created_at", "id")),
    "audits": ("audits_auditevent",
               "id, at, action, status, kind, actor_id, actor_label, target_type, target_id, session_public_id, "
               "host(ip) AS ip, user_agent, details",
               {"actor": "actor_id = %s", "kind": "kind = %s", "status": "status = %s", "action": "action = %s",
                "submission": "target_type = 'submissions.submission' AND target_id = %s",
                "at_after": "at >= %s", "at_before": "at < %s"}, "TRUE", ("at", "id")),
    "sessions": ("accounts_session",
                 "id, public_id, created_at, last_seen_at, expire_date, host(ip) AS ip, user_agent, revoked_at",
                 {"user": "user_id = %s"}, "TRUE", ("id",)),
    "fileshare": ("fileshare_fileshareitem",
                  "id, original_name, size, content_type, sha256, created_at, expires_at, max_downloads, downloads, "
                  "password <> '' AS has_password, owner_id",
                  {"owner": "owner_id = %s"}, "deleted_at IS NULL AND expires_at > now()", ("id",)),
}

# prepare_threshold=None: no server-side prepared statements, so every query gets a plan for its
# actual values, as Django's client-side binding does (a generic plan for `actor_id = $1 AND
# status = $2` walks the primary key and took 140 ms on the skewed bench data).
pool = ConnectionPool(os.environ["DATABASE_URL"], min_size=2, max_size=int(os.environ.get("GUNICORN_THREADS", "4")),
                      kwargs={"row_factory": dict_row, "prepare_threshold": None}, open=True)


def _json(start_response, status: str, body) -> list[bytes]:
    data = orjson.dumps(body)
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _list(name: str, params: dict) -> dict:
    table, columns, filters, base, ordering = LISTS[name]
    where, args = [base], []
    for param, condition in filters.items():
        if param in params:
            where.append(condition)
            args.append(params[param][0])
    keyset = ", ".join(ordering)
    if "after" in params:  # the ordering values of the last row seen, comma-separated: the API's cursor
        where.append(f"({keyset}) < ({', '.join(['%s'] * len(ordering))})")
        args += params["after"][0].split(",")
    order = ", ".join(f"{column} DESC" for column in ordering)
    sql = f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {PAGE + 1}"  # noqa: S608
    with pool.connection() as conn:
        rows = conn.execute(sql, args).fetchall()
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    after = ",".join(str(rows[-1][column]) for column in ordering) if more else None
    return {"next": after, "previous": None, "results": rows}


def _create(environ) -> dict:
    body = orjson.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
    now = datetime.now(UTC)
    actor = int(body["actor"])
    with pool.connection() as conn, conn.transaction():
        row = conn.execute(
            "INSERT INTO submissions_submission (kind, version, actor_id, actor_cpf, actor_nome, actor_email, payload, "
            "status, error, attempts, created_at, updated_at) VALUES (%s, '1.0.0', %s, '', %s, %s, %s, 'queued', '', "
            "0, %s, %s) RETURNING id, kind, version, status, error, attempts, created_at, updated_at, payload",
            [body["kind"], actor, body["nome"], body["email"], orjson.dumps(body["payload"]).decode(), now, now],
        ).fetchone()
        conn.execute(
            "INSERT INTO audits_auditevent (at, actor_id, actor_label, action, status, kind, target_type, target_id, "
            "user_agent, request_id, details) VALUES (now(), %s, %s, 'submission.created', 'success', %s, "
            "'submissions.submission', %s, '', '', %s)",
            [actor, body["email"], body["kind"], str(row["id"]), orjson.dumps({"submission": row["id"]}).decode()],
        )
    return row


def application(environ, start_response):
    path = environ["PATH_INFO"].strip("/")
    if path == "api/health":
        return _json(start_response, "200 OK", {"status": "ok"})
    if environ["REQUEST_METHOD"] == "POST" and path == "submissions":
        return _json(start_response, "201 Created", _create(environ))
    if path in LISTS:
        return _json(start_response, "200 OK", _list(path, parse_qs(environ.get("QUERY_STRING", ""))))
    return _json(start_response, "404 Not Found", {"detail": "not found"})
