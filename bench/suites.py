"""The benchmarks themselves; bench/run.py calls them in order with a shared Context.

Every suite measures the app next to a baseline taken in the same run (the floor app, an
anonymous request, `cp`, the state before) and records Results with the DESIGN.md §6 budget.
"""

import json
import re
import statistics
import threading
import time
from datetime import timedelta
from urllib.parse import quote, urlencode

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agepar.api import cursor_token
from bench.common import Http, Result, latencies, pct, server, wrk

FORM = {"nome": "Maria da Silva", "email": "maria@agepar.local", "departamento": "DAF", "prioridade": "media",
        "data": "2026-03-01", "aceitaTermos": True, "itens": [{"descricao": "Cadeira", "quantidade": 2}]}
LIST_BUDGET_MS = 15
ADMIN_BUDGET_MS = 250


def _cursor(position: tuple | None) -> str:
    """The API's cursor for the page after the row whose ordering values are `position` ("None": no row)."""
    return quote(cursor_token(position)) if position else "None"


def _after(position: tuple | None) -> str:
    """The floor's `after` for the same row: its ordering values, comma-separated."""
    return quote(",".join(str(value) for value in position)) if position else "None"


def _scalar(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _headers(client: Client, base: str) -> dict:
    """Cookie + CSRF headers for a session made in this process (same SECRET_KEY as the servers)."""
    from django.conf import settings

    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    http = Http(base, {"Cookie": f"{settings.SESSION_COOKIE_NAME}={key}"})
    response = http.open("GET", "/api/auth/csrf")
    token = json.loads(response.read())["csrfToken"]
    cookie = re.search(r"csrftoken=([^;]+)", response.headers.get("Set-Cookie", "")).group(1)
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={key}; csrftoken={cookie}", "X-CSRFToken": token}


def prepare(ctx) -> None:
    from accounts.models import User
    from bench.seed import BENCH_STAFF, BENCH_USER

    ctx.user = User.objects.get(email=BENCH_USER)
    ctx.staff = User.objects.get(email=BENCH_STAFF)
    for name, user in (("user_headers", ctx.user), ("staff_headers", ctx.staff)):
        client = Client()
        client.force_login(user)
        setattr(ctx, name, _headers(client, ctx.app))


def _compare(ctx, app_path: str, floor_path: str, headers: dict) -> dict:
    """Median over runs of p50 (and pooled p95) for the app and the floor, interleaved round by round."""
    app, floor, app_p50, floor_p50 = [], [], [], []
    for _ in range(ctx.runs):
        a = latencies(ctx.app, app_path, headers=headers, count=ctx.samples)
        f = latencies(ctx.floor, floor_path, count=ctx.samples)
        app += a
        floor += f
        app_p50.append(pct(a, 0.5))
        floor_p50.append(pct(f, 0.5))
    return {"p50": statistics.median(app_p50), "p95": pct(app, 0.95),
            "floor_p50": statistics.median(floor_p50), "floor_p95": pct(floor, 0.95)}


# --- API list pages ------------------------------------------------------------------------------------
def _last_position(table: str, keyset: str, where: str = "TRUE", params=()) -> tuple | None:
    """The ordering values (`keyset`, e.g. "created_at, id") of the row after which the page is the last
    full one: the 50 oldest matching rows."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {keyset} FROM {table} WHERE {where} ORDER BY {keyset} OFFSET 50 LIMIT 1",  # noqa: S608
                       params)
        return cursor.fetchone()


def _list_cases(ctx) -> list[tuple[str, str, str, str]]:
    """(name, API path, floor path, pair) — pairs are first/last pages of one list, for flatness."""
    u = ctx.user.pk
    sub, aud = "submissions_submission", "audits_auditevent"
    year_ago = (timezone.now() - timedelta(days=365)).isoformat()
    month_ago = (timezone.now() - timedelta(days=30)).isoformat()
    target = _scalar(f"SELECT target_id FROM {aud} WHERE target_type = 'submissions.submission' "  # noqa: S608
                     "ORDER BY id DESC LIMIT 1")
    # A submission of a year ago: its history is read from its creation on, not from the last week.
    old_target = _scalar(f"SELECT target_id FROM {aud} WHERE target_type = 'submissions.submission' "  # noqa: S608
                         "AND at < %s ORDER BY at DESC LIMIT 1", [year_ago])
    # The lists' orderings: submissions and audits newest first by time, sessions and shares by id.
    sub_key, aud_key = "created_at, id", "at, id"
    pos = {
        "sub_own": _last_position(sub, sub_key, "actor_id = %s AND deleted_at IS NULL", [u]),
        "sub_all": _last_position(sub, sub_key, "deleted_at IS NULL"),
        "sub_error": _last_position(sub, sub_key, "status = 'error' AND deleted_at IS NULL"),
        "aud_all": _last_position(aud, aud_key),
        "aud_login": _last_position(aud, aud_key, "action = 'auth.login'"),
        "aud_actor": _last_position(aud, aud_key, "actor_id = %s", [u]),
        "ses_own": _last_position("accounts_session", "id", "user_id = %s", [u]),
        "fs_own": _last_position("fileshare_fileshareitem", "id", "owner_id = %s AND deleted_at IS NULL "
                                 "AND expires_at > now()", [u]),
        "fs_all": _last_position("fileshare_fileshareitem", "id", "deleted_at IS NULL AND expires_at > now()"),
    }
    q = lambda **kw: urlencode(kw)  # noqa: E731
    cases = [
        ("submissions own · first", "/api/submissions", f"/submissions?actor={u}", "submissions own"),
        ("submissions own · last", f"/api/submissions?cursor={_cursor(pos['sub_own'])}",
         f"/submissions?actor={u}&after={_after(pos['sub_own'])}", "submissions own"),
        ("submissions all · first", "/api/submissions?scope=all", "/submissions", "submissions all"),
        ("submissions all · last", f"/api/submissions?scope=all&cursor={_cursor(pos['sub_all'])}",
         f"/submissions?after={_after(pos['sub_all'])}", "submissions all"),
        ("submissions all status=error · first", "/api/submissions?scope=all&status=error",
         "/submissions?status=error", "submissions error"),
        ("submissions all status=error · last",
         f"/api/submissions?scope=all&status=error&cursor={_cursor(pos['sub_error'])}",
         f"/submissions?status=error&after={_after(pos['sub_error'])}", "submissions error"),
        ("submissions all kind=dp-contracheque", "/api/submissions?scope=all&kind=dp-contracheque",
         "/submissions?kind=dp-contracheque", ""),
        ("submissions own status=error", "/api/submissions?status=error", f"/submissions?actor={u}&status=error", ""),
        ("submissions all created_after=30d", f"/api/submissions?scope=all&{q(created_after=month_ago)}",
         f"/submissions?{q(created_after=month_ago)}", ""),
        ("submissions all created_before=365d", f"/api/submissions?scope=all&{q(created_before=year_ago)}",
         f"/submissions?{q(created_before=year_ago)}", ""),
        ("audits · first", "/api/audits", "/audits", "audits"),
        ("audits · last", f"/api/audits?cursor={_cursor(pos['aud_all'])}", f"/audits?after={_after(pos['aud_all'])}",
         "audits"),
        ("audits action=auth.login · first", "/api/audits?action=auth.login", "/audits?action=auth.login",
         "audits login"),
        ("audits action=auth.login · last", f"/api/audits?action=auth.login&cursor={_cursor(pos['aud_login'])}",
         f"/audits?action=auth.login&after={_after(pos['aud_login'])}", "audits login"),
        ("audits actor=bench · first", f"/api/audits?actor={u}", f"/audits?actor={u}", "audits actor"),
        ("audits actor=bench · last", f"/api/audits?actor={u}&cursor={_cursor(pos['aud_actor'])}",
         f"/audits?actor={u}&after={_after(pos['aud_actor'])}", "audits actor"),
        ("audits status=failure", "/api/audits?status=failure", "/audits?status=failure", ""),
        ("audits kind=fileshare", "/api/audits?kind=fileshare", "/audits?kind=fileshare", ""),
        ("audits submission=<id>", f"/api/audits?submission={target}", f"/audits?submission={target}", ""),
        ("audits submission=<id of a year ago>", f"/api/audits?submission={old_target}",
         f"/audits?submission={old_target}", ""),
        ("audits at_before=365d", f"/api/audits?{q(at_before=year_ago)}", f"/audits?{q(at_before=year_ago)}", ""),
        ("sessions own · first", "/api/auth/sessions", f"/sessions?user={u}", "sessions"),
        ("sessions own · last", f"/api/auth/sessions?cursor={_cursor(pos['ses_own'])}",
         f"/sessions?user={u}&after={_after(pos['ses_own'])}", "sessions"),
        ("fileshare own · first", "/api/fileshare/items", f"/fileshare?owner={u}", "fileshare own"),
        ("fileshare own · last", f"/api/fileshare/items?cursor={_cursor(pos['fs_own'])}",
         f"/fileshare?owner={u}&after={_after(pos['fs_own'])}", "fileshare own"),
        ("fileshare all · first", "/api/fileshare/items?scope=all", "/fileshare", "fileshare all"),
        ("fileshare all · last", f"/api/fileshare/items?scope=all&cursor={_cursor(pos['fs_all'])}",
         f"/fileshare?after={_after(pos['fs_all'])}", "fileshare all"),
    ]
    return [c for c in cases if "None" not in c[1] + c[2]]  # a quick dataset may lack rows for a deep page


def lists(ctx) -> None:
    pairs: dict[str, dict] = {}
    for name, app_path, floor_path, pair in _list_cases(ctx):
        m = _compare(ctx, app_path, floor_path, ctx.user_headers)
        ctx.add(Result("list", f"{name} · p50 (p95 {m['p95']:.1f}, floor p95 {m['floor_p95']:.1f})", "ms",
                       m["p50"], m["floor_p50"], "floor", f"p50 < {LIST_BUDGET_MS} ms",
                       m["p50"] < LIST_BUDGET_MS, {**m, "path": app_path, "floor_path": floor_path}))
        if pair:
            pairs.setdefault(pair, {})["last" if "· last" in name else "first"] = m["p50"]
    for pair, values in pairs.items():
        if len(values) == 2:
            ratio = values["last"] / values["first"]
            ctx.add(Result("list flatness", f"{pair}: last page / first page p50", "×", ratio, budget="≤ 1.5",
                           ok=ratio <= 1.5))


def partitions(ctx) -> None:
    """The audit list pages on the monthly partitions (issue 18) against the same rows in one plain table.

    Baseline in the same run: a plain copy of the trail with the same indexes, swapped in under the
    table's name (renames in one transaction; the app is restarted after each swap so no connection
    keeps a plan of the other table), rounds alternated. "Unchanged within noise": partitioned / plain
    p50 at most the larger of 1.10 and the plain table's own spread between rounds.
    """
    from audits.models import AuditEvent

    table = AuditEvent._meta.db_table
    plain, parted = f"{table}_plain", f"{table}_parted"
    cases = [(name, path) for name, path, _, _ in _list_cases(ctx) if name.startswith("audits")]
    with connection.cursor() as cursor:
        if not _scalar("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table]):
            raise RuntimeError(f"{table} is not partitioned: nothing to compare")
        cursor.execute(f'DROP TABLE IF EXISTS "{plain}"')
        started = time.perf_counter()
        cursor.execute(f'CREATE TABLE "{plain}" (LIKE "{table}" INCLUDING DEFAULTS)')
        cursor.execute(f'INSERT INTO "{plain}" SELECT * FROM "{table}"')  # noqa: S608
        # The parent's indexes, one by one on the copy (built after the load: faster than maintained).
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        for (definition,) in cursor.fetchall():
            index = re.sub(r"^CREATE (UNIQUE )?INDEX (\S+) ON (ONLY )?\S+",
                           lambda m: f'CREATE {m[1] or ""}INDEX "{m[2].strip(chr(34))}_plain" ON "{plain}"', definition)
            cursor.execute(index)
        cursor.execute(f'VACUUM (ANALYZE) "{plain}"')
        cursor.execute(f'VACUUM (ANALYZE) "{table}"')
        print(f"plain copy of the trail ready in {time.perf_counter() - started:.0f} s", flush=True)

    def swap_in(source: str, aside: str) -> None:
        """`source`'s rows take the table's name; the current table goes to `aside`."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{aside}"')
            cursor.execute(f'ALTER TABLE "{source}" RENAME TO "{table}"')

    p50: dict[str, dict[str, list[float]]] = {name: {"partitioned": [], "plain": []} for name, _ in cases}
    try:
        for _ in range(ctx.runs):
            for layout in ("partitioned", "plain"):
                if layout == "plain":
                    swap_in(plain, aside=parted)
                try:
                    with server(ctx.env, ctx.work) as base:
                        for name, path in cases:
                            p50[name][layout].append(pct(latencies(base, path, headers=ctx.user_headers,
                                                                   count=ctx.samples), 0.5))
                finally:
                    if layout == "plain":
                        swap_in(parted, aside=plain)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TABLE IF EXISTS "{plain}"')
    for name, _ in cases:
        partitioned, flat = (statistics.median(p50[name][k]) for k in ("partitioned", "plain"))
        noise = max(p50[name]["plain"]) / min(p50[name]["plain"])
        allowed = max(1.10, noise)
        ctx.add(Result("partitions", f"{name} · p50 partitioned (rounds {_rounds(p50[name]['partitioned'])}; "
                       f"plain {_rounds(p50[name]['plain'])}, spread {noise:.2f}×)", "ms", partitioned, flat,
                       "same rows, one plain table", f"≤ {allowed:.2f}× plain (noise)", partitioned <= allowed * flat,
                       extra=p50[name]))


def _rounds(values: list[float]) -> str:
    return "/".join(f"{value:.1f}" for value in values)


# --- throughput ----------------------------------------------------------------------------------------
def _median_wrk(ctx, base, path, clients, **kwargs) -> dict:
    runs = [wrk(base, path, clients=clients, seconds=ctx.seconds, **kwargs) for _ in range(ctx.runs)]
    rps = statistics.median(r["rps"] for r in runs)
    p50 = statistics.median(r["p50_ms"] for r in runs)
    return {"rps": rps, "p50_ms": p50, "errors": sum(r["errors"] for r in runs), "runs": runs}


def throughput(ctx) -> None:
    u = ctx.user.pk
    for clients in (1, 8):
        app = _median_wrk(ctx, ctx.app, "/api/submissions", clients, headers=ctx.user_headers)
        floor = _median_wrk(ctx, ctx.floor, f"/submissions?actor={u}", clients)
        budget = "≥ 50% of floor" if clients == 8 else ""
        ok = app["rps"] >= 0.5 * floor["rps"] if clients == 8 else None
        ok = ok if not app["errors"] else False
        ctx.add(Result("throughput", f"GET /api/submissions (signed in), {clients} client(s)", "req/s", app["rps"],
                       floor["rps"], "floor", budget, ok, {"app": app, "floor": floor}))
        if clients == 1:
            ctx.add(Result("throughput", "GET /api/submissions p50 at 1 client", "ms", app["p50_ms"],
                           floor["p50_ms"], "floor", "≤ 2× floor", app["p50_ms"] <= 2 * floor["p50_ms"]))


def creates(ctx) -> None:
    app_body = json.dumps({"kind": "form2json", "payload": FORM}).encode()
    floor_body = json.dumps({"actor": ctx.user.pk, "kind": "form2json", "nome": ctx.user.nome,
                             "email": ctx.user.email, "payload": FORM}).encode()
    headers = {**ctx.user_headers, "Content-Type": "application/json"}
    for clients in (1, 8, 32):
        app = _median_wrk(ctx, ctx.app, "/api/submissions", clients, headers=headers, method="POST", body=app_body)
        floor = _median_wrk(ctx, ctx.floor, "/submissions", clients, headers={"Content-Type": "application/json"},
                            method="POST", body=floor_body)
        ok = app["rps"] >= 0.4 * floor["rps"] and not app["errors"]
        ctx.add(Result("creates", f"POST /api/submissions, {clients} client(s) (p50 {app['p50_ms']:.1f} ms, "
                       f"floor {floor['p50_ms']:.1f} ms)", "req/s", app["rps"], floor["rps"],
                       "floor (2 INSERTs, 1 tx)", "≥ 40% of floor", ok, {"app": app, "floor": floor}))


# --- admin changelists -----------------------------------------------------------------------------------
def admin(ctx) -> None:
    u = ctx.user
    cpf = u.cpf or ""
    target = _scalar("SELECT target_id FROM audits_auditevent WHERE target_id <> '' ORDER BY id DESC LIMIT 1")
    week = (timezone.localdate() - timedelta(days=7)).isoformat()
    pages = [
        # The index draws the dashboard (agepar/dashboard.py): grouped queries, cached for a minute.
        ("index with dashboard", "/admin/"),
        ("audits", "/admin/audits/auditevent/"),
        ("audits action=auth.login", "/admin/audits/auditevent/?action=auth.login"),
        ("audits status=failure + kind=auth", "/admin/audits/auditevent/?status=failure&kind=auth"),
        ("audits period=7d", "/admin/audits/auditevent/?period=7d"),
        ("audits search actor prefix", "/admin/audits/auditevent/?q=bench-0000"),
        ("audits search target id", f"/admin/audits/auditevent/?q={target}"),
        ("audits page 20", "/admin/audits/auditevent/?p=20"),
        ("submissions", "/admin/submissions/submission/"),
        ("submissions status=error", "/admin/submissions/submission/?status__exact=error"),
        ("submissions kind=form2json", "/admin/submissions/submission/?kind=form2json"),
        ("submissions created last 7 days", f"/admin/submissions/submission/?created_at__gte={week}"),
        ("submissions search CPF", f"/admin/submissions/submission/?q={cpf}"),
        ("submissions search e-mail prefix", "/admin/submissions/submission/?q=bench-0001%40"),
        ("submissions search name prefix", "/admin/submissions/submission/?q=Ana"),
        ("sessions", "/admin/accounts/session/"),
        ("sessions situacao=active", "/admin/accounts/session/?situacao=active"),
        ("sessions situacao=revoked", "/admin/accounts/session/?situacao=revoked"),
        ("sessions usuario=bench", f"/admin/accounts/session/?usuario={u.pk}"),
        ("sessions search e-mail prefix", "/admin/accounts/session/?q=bench-0000"),
        ("sessions search IP", "/admin/accounts/session/?q=10.1.2.3"),
        ("fileshare items", "/admin/fileshare/fileshareitem/"),
    ]
    samples = 5 if ctx.quick else 10
    for name, path in pages:
        p50s, everything = [], []
        for _ in range(ctx.runs):
            s = latencies(ctx.app, path, headers=ctx.staff_headers, count=samples, warmup=2)
            p50s.append(pct(s, 0.5))
            everything += s
        p50 = statistics.median(p50s)
        ctx.add(Result("admin", f"{name} · p50 (p95 {pct(everything, 0.95):.0f})", "ms", p50,
                       budget=f"< {ADMIN_BUDGET_MS} ms", ok=p50 < ADMIN_BUDGET_MS, extra={"path": path}))
    # The dashboard's figures are cached for a minute: the first visit after that pays for them.
    from django.core.cache import cache

    from agepar.dashboard import CACHE_KEY

    cold = []
    client = Http(ctx.app, ctx.staff_headers)
    for _ in range(samples * ctx.runs):
        cache.delete(CACHE_KEY)
        started = time.perf_counter()
        status, _ = client.get("/admin/")
        cold.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    ctx.add(Result("admin", f"index with dashboard, figures not cached (every request computes them) · p50 "
                   f"(p95 {pct(cold, 0.95):.0f})", "ms", pct(cold, 0.5), budget=f"< {ADMIN_BUDGET_MS} ms",
                   ok=pct(cold, 0.5) < ADMIN_BUDGET_MS, extra={"path": "/admin/", "samples": cold}))


# --- authenticated request overhead ------------------------------------------------------------------------
def auth(ctx) -> None:
    signed_in, anonymous = Client(), Client()
    signed_in.force_login(ctx.user)
    for path in ("/api/me", "/api/submissions", "/api/audits"):
        signed_in.get(path)  # the first request of a session may touch it
        with CaptureQueriesContext(connection) as queries:
            for _ in range(20):
                assert signed_in.get(path).status_code == 200, path
        with CaptureQueriesContext(connection) as anon_queries:
            assert anonymous.get(path).status_code == 401, path
        total = len(queries) / 20
        session = sum("accounts_session" in q["sql"] for q in queries) / 20
        writes = sum(q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")) for q in queries)
        ctx.add(Result("auth", f"GET {path}: queries per request signed in ({session:g} for session+user, "
                       f"{writes} writes in 20 requests)", "queries", total, len(anon_queries) or None,
                       "anonymous", "session+user = 1 query, no write", session == 1 and writes == 0,
                       {"sql": [q["sql"] for q in queries[: int(total)]]}))
    auth_ms = _p50_runs(ctx, "/api/me", ctx.user_headers, 200)
    anon_ms = _p50_runs(ctx, "/api/me", {}, 401)
    ctx.add(Result("auth", f"GET /api/me signed in vs anonymous 401 (+{auth_ms - anon_ms:.2f} ms)", "ms", auth_ms,
                   anon_ms, "anonymous"))
    _session_path(ctx, signed_in)


def _orm_session(key_hash: str):
    """What accounts.session_loader loads, written the plain ORM way (issue 17 item 8's "before"): the
    session by its key hash, its user (select_related) and the user's role names (an ArraySubquery),
    still one query, but a queryset built and compiled on every call."""
    from django.contrib.auth.models import Group
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import OuterRef

    from accounts.models import Session
    from accounts.roles import remember_roles

    names = Group.objects.filter(user=OuterRef("user_id")).values("name")
    session = Session.objects.select_related("user").annotate(role_names=ArraySubquery(names)).get(key_hash=key_hash)
    if session.user is not None:
        remember_roles(session.user, sorted(session.role_names))
    return session


def _session_path(ctx, signed_in: Client) -> None:
    """The per-request session load in this process: the product's explicit SQL against the ORM query
    above, and the same SQL run and fetched with no instances built (what the database and driver cost),
    interleaved round by round; each figure is the median over rounds of the mean time per load."""
    from django.conf import settings

    from accounts.models import Session
    from accounts.roles import user_roles
    from accounts.session_loader import _statement, load_session
    from accounts.sessions import hash_key

    key_hash = hash_key(signed_in.cookies[settings.SESSION_COOKIE_NAME].value)
    loaded, orm = load_session(Session, key_hash), _orm_session(key_hash)
    fields = [f.attname for f in Session._meta.concrete_fields]
    user_fields = [f.attname for f in type(loaded.user)._meta.concrete_fields]
    assert [getattr(loaded, f) for f in fields] == [getattr(orm, f) for f in fields]
    assert [getattr(loaded.user, f) for f in user_fields] == [getattr(orm.user, f) for f in user_fields]
    assert user_roles(loaded.user) == user_roles(orm.user)
    sql = _statement(Session, "default")[0]

    def raw():
        with connection.cursor() as cursor:
            cursor.execute(sql, [key_hash])
            cursor.fetchone()

    variants = {"loader": lambda: load_session(Session, key_hash), "orm": lambda: _orm_session(key_hash), "raw": raw}
    calls = 300 if ctx.quick else 2000
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(ctx.runs):
        for name, load in variants.items():
            for _ in range(50):
                load()
            started, started_cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                load()
            wall[name].append((time.perf_counter() - started) / calls * 1e6)
            cpu[name].append((time.process_time() - started_cpu) / calls * 1e6)
    w = {name: statistics.median(values) for name, values in wall.items()}
    c = {name: statistics.median(values) for name, values in cpu.items()}
    what = "session+user+roles load, explicit SQL (accounts/session_loader.py) vs the same load by the ORM query"
    ctx.add(Result("auth", f"{what}: CPU of this process per load", "µs", c["loader"], c["orm"], "ORM",
                   extra={"cpu_us": cpu, "calls": calls}))
    ctx.add(Result("auth", f"{what}: wall time per load (database round trip included)", "µs", w["loader"], w["orm"],
                   "ORM", extra={"wall_us": wall}))
    ctx.add(Result("auth", f"session+user+roles: the same SQL run and fetched, no instances built (wall "
                   f"{w['raw']:.0f} µs): CPU per load", "µs", c["raw"], c["loader"], "explicit SQL loader"))


def _p50_runs(ctx, path, headers, expect) -> float:
    return statistics.median(pct(latencies(ctx.app, path, headers=headers, count=ctx.samples, expect=expect), 0.5)
                             for _ in range(ctx.runs))


# --- audit seals (issue 19) -----------------------------------------------------------------------------------
# A sealer that keeps up with the writers, as run_maintenance does on a schedule: a process of its own
# (the writers' GIL is not its), sealing whatever settled since its last pass.
_SEALER = """
import time
import django
django.setup()
from audits.seals import seal_audits
print("ready", flush=True)
while True:
    seal_audits(wait_timeout=30)
    time.sleep(0.05)
"""


def _record_queries() -> list[str]:
    """The statements one record() runs inside its caller's transaction."""
    from audits.services import record

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        record("auth.login", actor_label="bench:writer", kind="auth", details={"bench": True})
    return [q["sql"] for q in queries]


def _write_window(seconds: float, writers: int) -> dict:
    """`writers` threads, each appending one event per transaction (as every service does) for `seconds`."""
    from audits.services import record

    durations: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def writer():
        mine = []
        try:
            while (started := time.perf_counter()) < stop:
                with transaction.atomic():
                    record("auth.login", actor_label="bench:writer", kind="auth", details={"bench": True})
                mine.append(time.perf_counter() - started)
        finally:
            connection.close()
        with lock:
            durations.extend(mine)

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"rate": len(durations) / seconds, "p50_ms": pct(durations, 0.5) * 1000,
            "p99_ms": pct(durations, 0.99) * 1000, "max_ms": max(durations) * 1000}


def seals(ctx) -> None:
    """Seal the seeded trail, verify it, and the write path with the sealer off and on.

    Baselines: for verify, reading the same rows alone (the keyset pages verify reads, no hashing);
    for the insert rate, the same writers with no sealer, windows alternated. The sealer competes
    for the same 2 cores, so "on" also pays its CPU: the p99 and the longest record() show whether
    a writer ever waited on it.
    """
    import subprocess
    import sys

    from audits.models import AuditEvent, AuditSeal
    from audits.seals import event_rows
    from bench.common import ROOT

    events = AuditEvent.objects.count()
    seconds, out = ctx.manage("seal_audits", "--wait=120")
    made = AuditSeal.objects.count()
    sealed = AuditSeal.objects.order_by("-number").values_list("last_id", flat=True).first() or 0
    ctx.add(Result("seals", f"seal_audits: {events:,} events in {made} seals ({events / seconds:,.0f} events/s)",
                   "s", seconds, extra={"out": out.strip()[-500:]}))

    started = time.perf_counter()
    read = sum(1 for _ in event_rows(connection, 0, sealed))
    read_seconds = time.perf_counter() - started
    seconds, out = ctx.manage("verify_audits")
    intact = "audit trail intact" in out
    ctx.add(Result("seals", f"verify_audits: {read:,} events, {made} seals (the command, start-up included)", "s",
                   seconds, read_seconds, "reading the same rows", "< 30 s, intact", seconds < 30 and intact,
                   extra={"out": out.strip()[-500:]}))

    sqls = _record_queries()
    writes = [q for q in sqls if q.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "SELECT"))]
    ctx.add(Result("seals", f"record() with {made} seals in the trail: statements in the caller's transaction "
                   f"({', '.join(q.split()[0] for q in sqls)})", "queries", len(sqls), budget="1 INSERT",
                   ok=len(sqls) == 1 and writes[0].lstrip().upper().startswith("INSERT"), extra={"sql": sqls}))

    writers, window = 4, 2 if ctx.quick else 5
    off, on, seals_made = [], [], 0
    for _ in range(ctx.runs):
        off.append(_write_window(window, writers))
        sealer = subprocess.Popen([sys.executable, "-c", _SEALER], cwd=ROOT, env=ctx.env, stdout=subprocess.PIPE,
                                  text=True)
        try:
            assert sealer.stdout.readline().strip() == "ready"
            before = AuditSeal.objects.count()
            on.append(_write_window(window, writers))
            seals_made += AuditSeal.objects.count() - before
        finally:
            sealer.terminate()
            sealer.wait(timeout=30)
    rate_off, rate_on = (statistics.median(w["rate"] for w in runs) for runs in (off, on))
    p99_off, p99_on = (statistics.median(w["p99_ms"] for w in runs) for runs in (off, on))
    longest = max(w["max_ms"] for w in on)
    ctx.add(Result("seals", f"record() rate, {writers} writers, sealer running ({seals_made} seals made meanwhile; "
                   f"p99 {p99_on:.1f} vs {p99_off:.1f} ms, longest {longest:.0f} ms)", "events/s", rate_on, rate_off,
                   "sealer off", extra={"off": off, "on": on}))
    # The seals made while the writers ran (the chain is walked whole either way).
    seconds, out = ctx.manage("verify_audits", f"--from-seal={made + 1}") if seals_made else ctx.manage("verify_audits")
    ctx.add(Result("seals", f"verify_audits of the {seals_made} seals made while writing", "s", seconds,
                   budget="intact", ok="audit trail intact" in out, extra={"out": out.strip()[-500:]}))


# --- upload / download of a large file ----------------------------------------------------------------------
def _transfer_user(tag: str):
    from accounts.models import User

    return User.objects.create_user(email=f"bench-{tag}-{time.time_ns()}@bench.agepar.local", nome="Bench Transfer",
                                    must_change_password=False)


def transfer(ctx) -> None:
    """1 GiB up and down through a 1-worker gunicorn, against `cp` measured just before, `ctx.runs` rounds.

    Both sides end with os.sync(), so each figure is the time until the bytes are on disk. The medians
    are reported: `cp` on this shared VM ranges from ~300 to ~1,900 MiB/s from one minute to the next.
    """
    import os
    import subprocess

    from bench.live_upload import (
        MultipartStream,
        cpu_seconds,
        gunicorn_worker_pids,
        memory_kib,
        reset_peak,
        session_for,
        upload_all,
    )
    from fileshare.models import FileShareItem
    from fileshare.services import item_delete

    mib = 1024 * 1024
    size = (64 if ctx.quick else 1024) * mib
    source, copy = ctx.work / "source.bin", ctx.work / "copy.bin"

    def cp_rate() -> float:
        with open(source, "wb") as out:
            block = os.urandom(mib)
            for _ in range(size // mib):
                out.write(block)
        os.sync()
        started = time.perf_counter()
        subprocess.run(["cp", str(source), str(copy)], check=True)
        os.sync()
        rate = size / mib / (time.perf_counter() - started)
        source.unlink()
        copy.unlink()
        return rate

    spool = ctx.work / "spool"
    spool.mkdir(exist_ok=True)
    user = _transfer_user("transfer")
    cp, up, up_cpu, up_growth, down, down_growth = [], [], [], [], [], []
    with server(ctx.env, ctx.work, WEB_CONCURRENCY="1", FILE_UPLOAD_TEMP_DIR=str(spool),
                FILESHARE_MAX_UPLOAD_SIZE=str(size + mib), FILESHARE_USER_QUOTA_BYTES=str(size * 3)) as base:
        http = session_for(base, user)
        upload_all(base, http, MultipartStream(mib))  # warm-up: every module imported
        (worker,) = gunicorn_worker_pids(base)
        client = Http(base, {"Cookie": "; ".join(f"{k}={v}" for k, v in http.cookies.items())})
        for _ in range(ctx.runs):
            cp.append(cp_rate())
            rss, cpu = memory_kib(worker, "VmRSS"), cpu_seconds(worker)
            reset_peak(worker)
            started = time.perf_counter()
            status, response = upload_all(base, http, MultipartStream(size))
            os.sync()
            up.append(size / mib / (time.perf_counter() - started))
            up_cpu.append(cpu_seconds(worker) - cpu)
            up_growth.append((memory_kib(worker, "VmHWM") - rss) / 1024)
            assert status == 201, response[:300]
            item = FileShareItem.objects.filter(owner=user, size=size).latest("id")
            rss = memory_kib(worker, "VmRSS")
            reset_peak(worker)
            started = time.perf_counter()
            reply = client.open("GET", f"/api/fileshare/items/{item.pk}/download")
            received = 0
            while chunk := reply.read(mib):
                received += len(chunk)
            down.append(size / mib / (time.perf_counter() - started))
            down_growth.append((memory_kib(worker, "VmHWM") - rss) / 1024)
            assert reply.status == 200 and received == size, (reply.status, received)
            item_delete(item=item, actor=user)  # its blob goes: the next round has the disk and the quota
    label = f"{size // mib} MiB"
    cp_rate_median = statistics.median(cp)
    up_rate, down_rate = statistics.median(up), statistics.median(down)
    ctx.add(Result("transfer", f"upload {label}: throughput", "MiB/s", up_rate, cp_rate_median, "cp", "≥ 0.5× cp",
                   up_rate >= cp_rate_median / 2,
                   extra={"cp": cp, "upload": up, "worker_cpu_s": up_cpu}))
    ctx.add(Result("transfer", f"upload {label}: worker peak RSS growth", "MiB", max(up_growth), budget="< 64 MiB",
                   ok=max(up_growth) < 64))
    ctx.add(Result("transfer", f"download {label}: throughput", "MiB/s", down_rate, cp_rate_median, "cp",
                   "≥ 0.5× cp", down_rate >= cp_rate_median / 2, extra={"download": down}))
    ctx.add(Result("transfer", f"download {label}: worker peak RSS growth", "MiB", max(down_growth),
                   budget="< 64 MiB", ok=max(down_growth) < 64))


# --- direct upload to S3 (issue 18) ---------------------------------------------------------------------------
def direct(ctx) -> None:
    """1 GiB through the direct-upload API against one plain presigned PUT of the same bytes to the same moto
    server, `ctx.runs` rounds, alternated. Two ways through the API, both in every round:

    - the fast path (the goal's row): the client hashes the file (timed, in the figure), starts with
      `part_size` = size and the `sha256`, sends one PUT with the returned headers, completes. The app runs
      with FILESHARE_S3_VERIFIES_CHECKSUMS=1, so `complete` takes S3's stored checksum (HEAD) and reads
      nothing back. On AWS S3 the checksum is verified by S3 inside the PUT; moto stores it unverified, so
      here the PUT is spared that work (docs/scaling.md "Uploads straight to the bucket").
    - the default path: 64 MiB parts 4 at a time, no sha256 declared, `complete` assembles and reads the
      object back once for its SHA-256; against the same multipart upload straight to S3, no API.

    Fresh connections for each API call (gunicorn's keep-alive is 5 s; a PUT of the parts lasts longer).
    """
    import hashlib
    import os

    from bench.harness import moto_server
    from bench.s3 import BUCKET, put, s3_client, s3_env, send_parts
    from fileshare.sniff import SNIFF_BYTES

    mib = 1024 * 1024
    size = (64 if ctx.quick else 1024) * mib
    body = bytearray(os.urandom(mib) * (size // mib))
    body[:9] = b"%PDF-1.7\n"  # a PDF to the sniffer
    user = _transfer_user("direct")
    client = Client()
    client.force_login(user)
    plain, read_s, bare_s, sniff_s = [], [], [], []
    fast_rates, hash_s, put_s, fast_complete_s = [], [], [], []
    direct_rates, complete_s, puts_s = [], [], []
    part = 64 * mib  # FILESHARE_UPLOAD_PART_SIZE's default, which the API hands out for 1 GiB
    with moto_server(ctx.work) as endpoint:
        s3 = s3_client(endpoint)
        s3.create_bucket(Bucket=BUCKET)
        # Each round's single PUT keeps its reservation after its item is deleted, until its URL expires
        # (docs/API.md, "A single PUT's URL"): room for one per round, and for the round's uploads.
        with server(ctx.env, ctx.work, **s3_env(endpoint), FILESHARE_MAX_UPLOAD_SIZE=str(size + mib),
                    FILESHARE_USER_QUOTA_BYTES=str(size * (ctx.runs + 2)),
                    FILESHARE_S3_VERIFIES_CHECKSUMS="1") as base:
            headers = {**_headers(client, base), "Content-Type": "application/json"}

            def call(method: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
                status, reply = Http(base, headers).request(method, path, json.dumps(payload or {}).encode())
                return status, json.loads(reply) if reply else {}

            def bare_multipart(key: str) -> tuple[float, float]:
                """The same multipart upload straight to S3, no API: (seconds in all, of which completing)."""
                upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
                parts = [{"number": n + 1, "size": min(part, size - n * part), "headers": {},
                          "url": s3.generate_presigned_url("upload_part", ExpiresIn=3600, Params={
                              "Bucket": BUCKET, "Key": key, "UploadId": upload_id, "PartNumber": n + 1})}
                         for n in range(-(-size // part))]
                started = time.perf_counter()
                sent = send_parts({"part_size": part, "parts": parts}, body, concurrency=4)
                completing = time.perf_counter()
                s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={
                    "Parts": [{"PartNumber": p["number"], "ETag": p["etag"]} for p in sent]})
                done = time.perf_counter()
                s3.delete_object(Bucket=BUCKET, Key=key)
                return done - started, done - completing

            for round_ in range(ctx.runs):
                key = f"bench/plain-{round_}"
                url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=3600)
                started = time.perf_counter()
                status, _, reply = put(url, body)
                plain.append(size / mib / (time.perf_counter() - started))
                assert status == 200, (status, reply[:300])
                # What the default path's `complete` does on top of the PUTs: read the object back once.
                started = time.perf_counter()
                stream = s3.get_object(Bucket=BUCKET, Key=key)["Body"]
                received = sum(len(chunk) for chunk in iter(lambda: stream.read(mib), b""))
                read_s.append(time.perf_counter() - started)
                assert received == size, received
                # What `complete` asks of the bucket on the fast path, without the API: one HEAD, one ranged
                # GET of the bytes the type is sniffed from (moto copies the whole object to answer a range).
                started = time.perf_counter()
                s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
                first = s3.get_object(Bucket=BUCKET, Key=key, Range=f"bytes=0-{SNIFF_BYTES - 1}")["Body"].read()
                sniff_s.append(time.perf_counter() - started)
                assert len(first) == SNIFF_BYTES, len(first)
                s3.delete_object(Bucket=BUCKET, Key=key)

                # The fast path: hash, start (one PUT, sha256 declared), PUT, complete.
                started = time.perf_counter()
                digest = hashlib.sha256(body).hexdigest()
                hashed = time.perf_counter()
                status, upload = call("POST", "/api/fileshare/uploads", {
                    "name": "bench.pdf", "size": size, "ttl": "1d", "sha256": digest, "part_size": size})
                assert status == 201 and not upload["multipart"], upload
                (sent,) = upload["parts"]
                sending = time.perf_counter()
                status, _, reply = put(sent["url"], body, sent["headers"])
                assert status == 200, (status, reply[:300])
                finishing = time.perf_counter()
                status, item = call("POST", f"/api/fileshare/uploads/{upload['id']}/complete", {"parts": []})
                done = time.perf_counter()
                assert status == 201 and item["size"] == size and item["sha256"] == digest, item
                fast_rates.append(size / mib / (done - started))
                hash_s.append(hashed - started)
                put_s.append(finishing - sending)
                fast_complete_s.append(done - finishing)
                assert call("DELETE", f"/api/fileshare/items/{item['id']}")[0] == 204

                bare_s.append(bare_multipart(f"bench/multipart-{round_}"))
                # The default path: the server's part size, nothing declared.
                started = time.perf_counter()
                status, upload = call("POST", "/api/fileshare/uploads",
                                      {"name": "bench.pdf", "size": size, "ttl": "1d"})
                assert status == 201, upload
                sending = time.perf_counter()
                parts = send_parts(upload, body, concurrency=4)
                finishing = time.perf_counter()
                puts_s.append(finishing - sending)
                status, item = call("POST", f"/api/fileshare/uploads/{upload['id']}/complete",
                                    {"parts": parts if upload["multipart"] else []})
                done = time.perf_counter()
                assert status == 201 and item["size"] == size, item
                direct_rates.append(size / mib / (done - started))
                complete_s.append(done - finishing)
                assert call("DELETE", f"/api/fileshare/items/{item['id']}")[0] == 204
    med = statistics.median
    fast, baseline = med(fast_rates), med(plain)
    ctx.add(Result("direct", f"direct upload {size // mib} MiB to S3, one PUT with its SHA-256 (client hashes "
                   f"{med(hash_s):.1f} s, start, PUT {med(put_s):.1f} s, complete {med(fast_complete_s):.2f} s "
                   f"from S3's checksum, of which the bucket's HEAD and ranged GET, bare, {med(sniff_s):.2f} s; on "
                   "AWS S3 verified by S3 inside the PUT, moto skips that)", "MiB/s",
                   fast, baseline, "one plain PUT", "≥ 0.9× plain PUT", fast >= 0.9 * baseline,
                   extra={"fast": fast_rates, "plain": plain, "hash_s": hash_s, "put_s": put_s,
                          "complete_s": fast_complete_s, "head_and_ranged_get_s": sniff_s}))
    rate = med(direct_rates)
    ctx.add(Result("direct", f"direct upload {size // mib} MiB to S3 in the server's parts ({len(upload['parts'])} "
                   f"presigned PUTs 4 at a time {med(puts_s):.1f} s, complete {med(complete_s):.1f} s; reading the "
                   f"object back {med(read_s):.1f} s)", "MiB/s", rate, baseline, "one plain PUT",
                   extra={"direct": direct_rates, "puts_s": puts_s, "complete_s": complete_s,
                          "read_back_s": read_s}))
    bare = med(size / mib / total for total, _ in bare_s)
    ctx.add(Result("direct", f"direct upload {size // mib} MiB in the server's parts vs the same multipart upload "
                   f"straight to S3, no API (its completion {med(c for _, c in bare_s):.1f} s)", "MiB/s", rate,
                   bare, "bare multipart", extra={"bare_s": bare_s}))


# --- maintenance commands ------------------------------------------------------------------------------------
def maintenance(ctx) -> None:
    from bench.live_upload import MultipartStream, session_for, upload_all
    from bench.seed import seed
    from fileshare.models import FileShareItem

    expired = 2_000 if ctx.quick else 100_000
    seed(expired_shares=expired, blobs=True)
    # A live item downloaded in a loop while the cleanup runs: its latency must hold.
    user = _transfer_user("cleanup")
    http = session_for(ctx.app, user)
    assert upload_all(ctx.app, http, MultipartStream(64 * 1024))[0] == 201
    item = FileShareItem.objects.filter(owner=user).latest("id")
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in http.cookies.items())}
    path = f"/api/fileshare/items/{item.pk}/download"
    before = latencies(ctx.app, path, headers=headers, count=ctx.samples)
    during: list[float] = []
    done = threading.Event()

    def sample():
        client = Http(ctx.app, headers)
        while not done.is_set():
            started = time.perf_counter()
            status, _ = client.get(path)
            during.append((time.perf_counter() - started) * 1000 if status == 200 else float("inf"))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        seconds, out = ctx.manage("cleanup_fileshare")
    finally:
        done.set()
        sampler.join()
    count = int(re.search(r"expired=(\d+)", out).group(1))
    ctx.add(Result("maintenance", f"cleanup_fileshare: {count} expired items", "s", seconds, budget="< 60 s",
                   ok=seconds < 60 and count >= expired, extra={"items_per_s": count / seconds}))
    ctx.add(Result("maintenance", f"live download during cleanup · p50 ({len(during)} requests, "
                   f"p95 {pct(during, 0.95):.1f} ms)", "ms", pct(during, 0.5), pct(before, 0.5), "before cleanup",
                   "≤ 2× before, no error", pct(during, 0.5) <= 2 * pct(before, 0.5) and float("inf") not in during))
    total = _scalar("SELECT sum(reltuples)::bigint FROM pg_class c JOIN pg_partition_tree('audits_auditevent') t"
                    " ON c.oid = t.relid WHERE t.isleaf")
    seconds, out = ctx.manage("prune_audits", "--older-than=365d")
    deleted = int(re.search(r"deleted (\d+) events", out).group(1))
    ctx.add(Result("maintenance", f"prune_audits --older-than 365d: {deleted} of ~{total} events deleted "
                   f"({deleted / seconds:,.0f} rows/s)", "s", seconds, extra={"deleted": deleted}))
    # Monthly partitions (audits/partitions.py): whole months are detached and dropped; the rest of
    # the boundary month goes in batches. Baseline: the same month's rows at the batches' own rate.
    months = [(int(rows), float(s)) for rows, s in re.findall(r"dropped, (\d+) events in ([\d.]+) s", out)]
    batches = re.findall(r"batch ids \d+-\d+: (\d+) deleted", out)
    if months:
        rows, slowest = max(months, key=lambda month: month[1])
        batch_rows = sum(map(int, batches))
        rate = batch_rows / max(seconds - sum(s for _, s in months), 1e-9) if batch_rows else None
        ctx.add(Result("maintenance", f"drop one month of audits ({rows} events; slowest of {len(months)} months)",
                       "s", slowest, rows / rate if rate else None, "batched DELETE of the same rows",
                       "< 1 s", slowest < 1, extra={"months": months}))
