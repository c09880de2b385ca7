"""Seed a benchmark dataset: users, audit events, submissions, sessions and shared files.

    seed(audits=1_000_000, submissions=1_000_000, sessions=100_000, shares=100_000)   # bench/run.py
    .venv/bin/python -m bench.seed --audits 1000000 --submissions 1000000 ...         # alone, on DATABASE_URL

PostgreSQL loads rows with COPY (about a minute per million rows on 2 cores); other databases
fall back to bulk_create in batches. Rows are appended to what exists, so run it on a database
of its own (bench/run.py creates one). Distributions follow the old portal's traffic:
- ~5,000 users, activity skewed (user rank r gets a share ~ r^(-2/3): the busiest users make
  a few percent of all rows, like the handful of people running automations all day);
- ids grow with time over two years; submissions are mostly done, a few in error, very few
  queued or running; audit actions follow the submission lifecycle plus logins and downloads,
  each submission event minutes after its submission was created (never before it);
- sessions are mostly expired, some revoked, a few alive; shared files live 1-30 days and
  expired ones are deleted by cleanup, as in production.
The user of rank 0 (BENCH_USER) gets the admin role, rank 1 (BENCH_STAFF) is a superuser; both are
what bench/ signs in with. Their password is drawn afresh by every run (`bench_accounts`), never
stored: this is benchmark code, not a product command, so nothing here is reachable from manage.py.
"""

import io
import itertools
import os
import random
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

import django
import orjson

if __name__ == "__main__":  # run alone (python -m bench.seed): Django first, the models after
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agepar.settings")
    django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max, Min  # noqa: E402

from accounts.models import Session, User  # noqa: E402
from audits import partitions  # noqa: E402
from audits.models import AuditEvent  # noqa: E402
from fileshare.models import FileShareItem  # noqa: E402
from submissions.models import Submission  # noqa: E402

BENCH_USER = "bench-0000@bench.agepar.local"
BENCH_STAFF = "bench-0001@bench.agepar.local"
SPAN = timedelta(days=730)
BATCH = 20_000

FIRST = ("Ana", "João", "Maria", "José", "Francisca", "Antônio", "Adriana", "Carlos", "Juliana", "Paulo",
         "Márcia", "Lucas", "Patrícia", "Pedro", "Aline", "Rafael", "Fernanda", "Marcos", "Luíza", "Gustavo")
LAST = ("Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
        "Costa", "Ribeiro", "Martins", "Carvalho", "Araújo", "Melo", "Barbosa", "Cardoso", "Rocha", "Dias")
DEPARTMENTS = ("DAF", "DP", "RH", "DFQ", "DRE", "DNR", "CONTROLE", "COMPRAS")
KINDS = (("form2json", 55), ("ferias-requerimento", 15), ("compras-dfd", 15), ("rh-declaracao", 10),
         ("dp-contracheque", 5))
STATUSES = (("done", 935), ("error", 60), ("queued", 3), ("running", 2))
AGENTS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
          "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15")
# (action, weight, area); area None means "the submission's automation".
AUDIT_ACTIONS = (("submission.created", 24, None), ("submission.started", 22, None),
                 ("submission.completed", 20, None), ("submission.failed", 2, None),
                 ("submission.retried", 1, None), ("auth.login", 16, "auth"), ("auth.logout", 5, "auth"),
                 ("auth.session_revoked", 1, "auth"), ("fileshare.uploaded", 3, "fileshare"),
                 ("fileshare.downloaded", 5, "fileshare"), ("fileshare.deleted", 1, "fileshare"))
SHARE_TYPES = (("application/pdf", ".pdf"), ("image/png", ".png"), ("text/csv", ".csv"),
               ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"))


def _weighted(pairs):
    """(values, cumulative weights) for random.choices."""
    values, weights = [p[0] for p in pairs], list(itertools.accumulate(p[1] for p in pairs))
    return values, weights


def _text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)  # generated values never contain tabs, newlines or backslashes


def seed(*, users: int = 5000, audits: int = 0, submissions: int = 0, sessions: int = 0, shares: int = 0,
         expired_shares: int = 0, blobs: bool = False, rng_seed: int = 8, log=None) -> None:
    """Append the dataset; `expired_shares` are live rows already past their expiry (the cleanup_fileshare
    benchmark), with a small blob each in the upload storage when `blobs`. `log` gets one line per table."""
    Seeder(rng_seed, log or (lambda line: None)).run(users, {
        "submissions": submissions, "audits": audits, "sessions": sessions, "shares": shares,
        "expired shares": expired_shares}, blobs)


def bench_accounts(password: str | None = None) -> str:
    """Give the two bench accounts their roles and a password (a fresh random one unless given); returns it."""
    password = password or secrets.token_urlsafe(18)
    groups = [Group.objects.get_or_create(name=name)[0] for name in ("admin", "automations.form2json")]
    user = User.objects.get(email=BENCH_USER)
    user.set_password(password)
    user.save(update_fields=["password"])
    user.groups.set(groups)
    staff = User.objects.get(email=BENCH_STAFF)
    staff.set_password(password)
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["password", "is_staff", "is_superuser"])
    staff.groups.set(groups[:1])
    return password


class Seeder:
    def __init__(self, rng_seed: int, log):
        self.rng = random.Random(rng_seed)
        self.log = log
        self.now = datetime.now(UTC)
        self.start = self.now - SPAN

    def run(self, users: int, counts: dict[str, int], blobs: bool) -> None:
        self.users = self._users(users)
        loaders = {"submissions": self._submissions, "audits": self._audits, "sessions": self._sessions,
                   "shares": self._shares, "expired shares": lambda n: self._expired_shares(n, blobs)}
        for name, count in counts.items():
            if count > 0:
                started = time.perf_counter()
                loaders[name](count)
                self.log(f"{name}: {count} rows in {time.perf_counter() - started:.1f} s")
        if connection.vendor == "postgresql" and not connection.in_atomic_block:  # VACUUM refuses a transaction
            started = time.perf_counter()
            with connection.cursor() as cursor:
                for model in (User, Submission, AuditEvent, Session, FileShareItem):
                    cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
            self.log(f"vacuum analyze: {time.perf_counter() - started:.1f} s")

    # --- distributions ------------------------------------------------------------------------------
    def _actor(self) -> tuple:
        # rank = U * x^3: rank 0 gets ~(1/U)^(1/3) of all rows (5.8% at 5,000 users), the tail a few each.
        return self.users[int(len(self.users) * self.rng.random() ** 3)]

    def _when(self, i: int, n: int, start=None, span=SPAN) -> datetime:
        start = start or self.start
        return start + span * ((i + self.rng.random()) / n)

    def _ip(self) -> str:
        return f"10.{self.rng.randrange(1, 40)}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"

    # --- loading ---------------------------------------------------------------------------------------
    def _load(self, model, columns: tuple[str, ...], rows) -> None:
        if connection.vendor == "postgresql":
            table = model._meta.db_table
            with transaction.atomic(), connection.cursor() as cursor:
                raw = cursor.connection  # the psycopg connection under Django's wrapper
                with raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    buffer = io.StringIO()
                    for count, row in enumerate(rows, 1):
                        buffer.write("\t".join(map(_text, row)))
                        buffer.write("\n")
                        if count % BATCH == 0:
                            copy.write(buffer.getvalue())
                            buffer = io.StringIO()
                    copy.write(buffer.getvalue())
            return
        names = [c[:-3] + "_id" if c.endswith("_id") else c for c in columns]
        batch = []
        for row in rows:
            batch.append(model(**dict(zip(names, row, strict=True))))
            if len(batch) == BATCH // 10:
                model.objects.bulk_create(batch)
                batch = []
        model.objects.bulk_create(batch)

    def _users(self, count: int) -> list[tuple]:
        existing = User.objects.filter(email__endswith="@bench.agepar.local").count()
        if existing < count:
            created = self.now - SPAN - timedelta(days=30)

            def rows():
                for rank in range(existing, count):
                    nome = f"{FIRST[rank % 20]} {LAST[rank // 20 % 20]} {LAST[rank * 7 % 20]}"
                    yield ("!", False, f"bench-{rank:04d}@bench.agepar.local", f"{90000000000 + rank:011d}", nome,
                           True, False, False, created, created)

            self._load(User, ("password", "is_superuser", "email", "cpf", "nome", "is_active", "is_staff",
                              "must_change_password", "created_at", "updated_at"), rows())
            bench_accounts()
        users = User.objects.filter(email__endswith="@bench.agepar.local").order_by("email")
        return list(users.values_list("id", "email", "nome", "cpf")[:count])

    def _submissions(self, n: int) -> None:
        kinds, kind_weights = _weighted(KINDS)
        statuses, status_weights = _weighted(STATUSES)
        rng = self.rng

        def rows():
            for i in range(n):
                user_id, email, nome, cpf = self._actor()
                created = self._when(i, n)
                kind = rng.choices(kinds, cum_weights=kind_weights)[0]
                status = rng.choices(statuses, cum_weights=status_weights)[0]
                payload = {"nome": nome, "email": email, "departamento": rng.choice(DEPARTMENTS),
                           "prioridade": rng.choice(("baixa", "media", "alta")), "data": f"{created:%Y-%m-%d}",
                           "aceitaTermos": True,
                           "itens": [{"descricao": f"Item {k}", "quantidade": rng.randrange(1, 50)}
                                     for k in range(rng.randrange(0, 4))]}
                started = created + timedelta(seconds=rng.random() * 5) if status != "queued" else None
                finished = started + timedelta(seconds=0.2 + rng.random() * 20) if status in ("done", "error") else None
                result = {"documento": payload["nome"].upper(), "itens": len(payload["itens"]), "ok": True} \
                    if status == "done" else None
                error = "Tempo esgotado ao consultar o sistema de origem." if status == "error" else ""
                lease = self.now + timedelta(minutes=2) if status == "running" else None
                yield (kind, "1.0.0", user_id, cpf, nome, email, payload, status, result, error,
                       1 if started else 0, 0, created, finished or started or created, started, finished, lease)

        self._load(Submission, ("kind", "version", "actor_id", "actor_cpf", "actor_nome", "actor_email", "payload",
                                "status", "result", "error", "attempts", "retries", "created_at", "updated_at",
                                "started_at", "finished_at", "lease_expires_at"), rows())

    def _audits(self, n: int) -> None:
        actions, weights = _weighted([(a, w) for a, w, _ in AUDIT_ACTIONS])
        areas = {a: area for a, _, area in AUDIT_ACTIONS}
        kinds, kind_weights = _weighted(KINDS)
        rng = self.rng
        # Submissions were loaded in time order, ids first to last over SPAN (or none: ids of pruned ones).
        first, last = Submission.objects.aggregate(first=Min("id"), last=Max("id")).values()
        first, last = (first, last) if first else (1, 1_000_000)

        def submission_at(i: int) -> int:
            """A submission created before event i of n: most events follow their submission by minutes."""
            lag = 1 + int(rng.expovariate(1 / 20))  # ~20 submissions, ~20 minutes at 1M over two years
            return max(first, first + int((last - first + 1) * i / n) - lag)

        def rows():
            for i in range(n):
                user_id, email, _, _ = self._actor()
                action = rng.choices(actions, cum_weights=weights)[0]
                area = areas[action] or rng.choices(kinds, cum_weights=kind_weights)[0]
                status = "failure" if action == "submission.failed" or (
                    action == "auth.login" and rng.random() < 0.1) else "success"
                if action.startswith("submission."):
                    target = ("submissions.submission", str(submission_at(i)))
                    details = {"submission": int(target[1]), "version": "1.0.0"}
                elif action.startswith("fileshare."):
                    target = ("fileshare.fileshareitem", str(rng.randrange(1, 100_000)))
                    details = {"item": int(target[1])}
                else:
                    target, details = ("", ""), {}
                system = action == "submission.started"  # the worker acts for the user, without a request
                yield (self._when(i, n), user_id, email, action, status, area, target[0], target[1],
                       None if system else uuid.UUID(int=rng.getrandbits(128), version=4),
                       None if system else self._ip(), "" if system else rng.choice(AGENTS),
                       "" if system else f"{rng.getrandbits(128):032x}", details)

        if partitions.is_partitioned(connection):  # each month's rows straight into their partition
            partitions.ensure_months(connection, now=self.start + SPAN, since=self.start)
        self._load(AuditEvent, ("at", "actor_id", "actor_label", "action", "status", "kind", "target_type",
                                "target_id", "session_public_id", "ip", "user_agent", "request_id", "details"), rows())

    def _sessions(self, n: int) -> None:
        rng = self.rng

        def rows():
            for i in range(n):
                user_id = self._actor()[0]
                created = self._when(i, n)
                absolute = created + timedelta(hours=12)
                last_seen = created + timedelta(seconds=rng.random() * 6 * 3600)
                expire = min(last_seen + timedelta(hours=8), absolute)
                revoked = last_seen if rng.random() < 0.03 else None
                yield ("", expire, f"{rng.getrandbits(256):064x}", uuid.UUID(int=rng.getrandbits(128), version=4),
                       self._ip(), rng.choice(AGENTS), ["user"], created, last_seen, absolute, revoked,
                       "encerrada" if revoked else "", user_id)

        self._load(Session, ("session_data", "expire_date", "key_hash", "public_id", "ip", "user_agent", "roles",
                             "created_at", "last_seen_at", "absolute_expires_at", "revoked_at", "revoke_reason",
                             "user_id"), rows())

    _SHARE_COLUMNS = ("owner_id", "original_name", "storage_name", "size", "content_type", "sha256", "created_at",
                      "expires_at", "max_downloads", "downloads", "token_hash", "password", "deleted_at",
                      "delete_reason")

    def _share(self, created, expires, deleted=None, reason=""):
        rng = self.rng
        content_type, ext = rng.choice(SHARE_TYPES)
        return (self._actor()[0], f"documento-{rng.randrange(10**6)}{ext}",
                f"{created:%Y/%m}/{rng.getrandbits(128):032x}", rng.randrange(10_000, 20_000_000), content_type,
                f"{rng.getrandbits(256):064x}", created, expires, rng.choice((None, None, 5, 10)), rng.randrange(4),
                f"{rng.getrandbits(256):064x}", "", deleted, reason)

    def _shares(self, n: int) -> None:
        # Created over the last 30 days (deleted rows are purged after that); expired ones already cleaned up.
        rng = self.rng
        window = timedelta(days=30)

        def rows():
            for i in range(n):
                created = self._when(i, n, start=self.now - window, span=window)
                expires = created + timedelta(days=rng.choice((1, 7, 7, 30)))
                if expires <= self.now:
                    yield self._share(created, expires, expires + timedelta(minutes=rng.randrange(60)), "expired")
                elif rng.random() < 0.05:
                    yield self._share(created, expires, created + timedelta(hours=1), "owner")
                else:
                    yield self._share(created, expires)

        self._load(FileShareItem, self._SHARE_COLUMNS, rows())

    def _expired_shares(self, n: int, blobs: bool) -> None:
        from django.core.files.storage import default_storage

        created = self.now - timedelta(days=2)
        rows = [self._share(created, self.now - timedelta(hours=1)) for _ in range(n)]
        self._load(FileShareItem, self._SHARE_COLUMNS, iter(rows))
        if blobs:
            root = default_storage.path("")
            for folder in {row[2].rsplit("/", 1)[0] for row in rows}:
                os.makedirs(f"{root}/{folder}", exist_ok=True)
            for row in rows:
                with open(f"{root}/{row[2]}", "wb") as blob:
                    blob.write(secrets.token_bytes(64))


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("users", "audits", "submissions", "sessions", "shares", "expired-shares"):
        parser.add_argument(f"--{name}", type=int, default=5000 if name == "users" else 0)
    parser.add_argument("--blobs", action="store_true", help="a small blob file per --expired-shares row")
    parser.add_argument("--seed", type=int, default=8, dest="rng_seed")
    args = parser.parse_args()
    seed(**vars(args), log=print)


if __name__ == "__main__":
    main()
