"""Load and fault test: does the service ride out a PostgreSQL restart and a crash, and lose nothing?

gunicorn with deploy/gunicorn.conf.py serves N clients (16) that, for D seconds (20), create
form2json submissions (POST /api/submissions, each with its own Idempotency-Key) and download a
shared file (GET /api/fileshare/items/{id}/download). Meanwhile PostgreSQL is

  1. restarted   `pg_ctlcluster --skip-systemctl-redirect 15 main restart -m fast`   at --restart-at
  2. crashed     `pg_ctlcluster --skip-systemctl-redirect 15 main stop -m immediate` at --crash-at,
                 then started again (crash recovery replays the WAL).

Report per fault: errors while the database was away, seconds from the database being back to the
first successful request, errors after that point (must be 0); and the durability invariant:
every create answered 201 is in the database afterwards (plus how many unanswered ones committed,
which a client retrying with the same Idempotency-Key gets back as 200).

    .venv/bin/python bench/fault.py                      # THIS RESTARTS THE POSTGRESQL SERVER
    .venv/bin/python bench/fault.py --faults proxy       # the same cuts through a TCP proxy (server untouched)
    .venv/bin/python bench/fault.py --faults none        # load only, a baseline

Exit status 0 when errors after recovery are 0 and no acknowledged create is missing.
Results go to docs/reliability.md.
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import PRODUCTION_ENV, serve  # noqa: E402
from bench.tcp_proxy import TcpProxy  # noqa: E402

FORM = {"nome": "Carga Falha", "email": "carga@agepar.go.gov.br", "departamento": "Compras",
        "prioridade": "alta", "data": "2025-03-14", "aceitaTermos": True,
        "itens": [{"descricao": "Cadeira", "quantidade": 2}]}
PASSWORD = "Senha-Carga-" + secrets.token_urlsafe(12)
EMAIL = "carga-falha@agepar.local"


@dataclass
class Sample:
    kind: str  # create | download
    started: float
    ended: float
    ok: bool
    status: int | None
    error: str = ""
    idempotency_key: str = ""


@dataclass
class Fault:
    name: str
    began: float = 0.0  # command issued: from here the database may be away
    back: float = 0.0  # command returned and the server accepts connections again


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{auth}{host}:{port}"))


def pg_ready(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"fault: timed out waiting for {what}")
        time.sleep(0.1)


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def prepare(args, env: dict) -> None:
    with psycopg.connect(with_database(args.database_url, "postgres"), autocommit=True) as conn:
        if args.fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone():
            conn.execute(f'CREATE DATABASE "{args.database}"')
    log(f"migrating {args.database}")
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "init_db")
    manage(env, "shell", "-c", (
        "from django.contrib.auth import get_user_model; from django.contrib.auth.models import Group; "
        f"User = get_user_model(); u = User.objects.filter(email={EMAIL!r}).first() "
        f"or User.objects.create_user(email={EMAIL!r}, password={PASSWORD!r}, nome='Carga'); "
        f"u.set_password({PASSWORD!r}); u.must_change_password = False; u.save(); "
        "u.groups.add(Group.objects.get(name='automations.form2json'))"))


def signed_in(base: str) -> requests.Session:
    session = requests.Session()
    token = session.get(f"{base}/api/auth/csrf", timeout=30).json()["csrfToken"]
    session.headers["X-CSRFToken"] = token
    response = session.post(f"{base}/api/auth/login", json={"identifier": EMAIL, "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    session.headers["X-CSRFToken"] = session.cookies.get("csrftoken", token)
    session.headers["Referer"] = base + "/"
    return session


def share_files(session: requests.Session, base: str, count: int = 4) -> list[int]:
    ids = []
    for index in range(count):
        content = b"%PDF-1.4\n" + os.urandom(64 * 1024 * (index + 1))
        response = session.post(f"{base}/api/fileshare/items", files={"file": (f"carga-{index}.pdf", content)},
                                data={"ttl": "1d"}, timeout=60)
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


def client(base: str, session: requests.Session, item_ids: list[int], run: Run, stop: threading.Event,
           timeout: float) -> None:
    turn = 0
    while not stop.is_set():
        turn += 1
        if turn % 2:
            key = uuid.uuid4().hex
            started = time.monotonic()
            try:
                response = session.post(f"{base}/api/submissions", json={"kind": "form2json", "payload": FORM},
                                        headers={"Idempotency-Key": key}, timeout=timeout)
                run.add(Sample("create", started, time.monotonic(), response.status_code == 201,
                               response.status_code, "" if response.status_code == 201 else response.text[:120], key))
            except requests.RequestException as exc:
                run.add(Sample("create", started, time.monotonic(), False, None, type(exc).__name__, key))
        else:
            item = item_ids[turn % len(item_ids)]
            started = time.monotonic()
            try:
                response = session.get(f"{base}/api/fileshare/items/{item}/download", timeout=timeout)
                ok = response.status_code == 200 and response.content.startswith(b"%PDF")
                run.add(Sample("download", started, time.monotonic(), ok, response.status_code,
                               "" if ok else response.text[:120]))
            except requests.RequestException as exc:
                run.add(Sample("download", started, time.monotonic(), False, None, type(exc).__name__))


class PgFaults:
    """The real thing: the PostgreSQL cluster is restarted and crashed."""

    def __init__(self, args, direct_url: str):
        self.cluster = [args.pg_version, args.pg_cluster]
        self.url = direct_url

    def _ctl(self, *action: str) -> None:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *self.cluster, *action], check=True)

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")
        wait_until(lambda: pg_ready(self.url), 120, "PostgreSQL after restart")

    def crash(self) -> None:
        self._ctl("stop", "-m", "immediate")
        time.sleep(1)  # down for a moment, as a crashed server would be
        self._ctl("start")
        wait_until(lambda: pg_ready(self.url), 120, "PostgreSQL after crash recovery")


class ProxyFaults:
    """The same cuts between gunicorn and PostgreSQL, leaving the server alone (to try the script)."""

    def __init__(self, proxy: TcpProxy):
        self.proxy = proxy

    def restart(self) -> None:
        self.proxy.down()
        time.sleep(1.5)
        self.proxy.up()

    def crash(self) -> None:
        self.proxy.hang()
        time.sleep(3)
        self.proxy.up()


def analyse(run: Run, acknowledged_missing: int, acknowledged: int, ambiguous_committed: int,
            ambiguous: int, duration: float) -> dict:
    samples = sorted(run.samples, key=lambda s: s.started)
    faults = []
    for fault in run.faults:
        following = [s for s in samples if s.started >= fault.back]
        first_ok = next((s for s in following if s.ok), None)
        recovered_at = first_ok.ended if first_ok else None
        next_fault = next((f.began for f in run.faults if f.began > fault.began), float("inf"))
        during = [s for s in samples if s.ended >= fault.began and s.started < (recovered_at or fault.back)]
        # A request still in flight when the next fault begins belongs to that fault's outage.
        after = [s for s in samples if recovered_at and s.started >= recovered_at and s.ended < next_fault]
        faults.append({
            "fault": fault.name,
            "database_away_s": round(fault.back - fault.began, 2),
            "requests_during_outage": len(during),
            "errors_during_outage": sum(not s.ok for s in during),
            "error_kinds_during_outage": sorted({f"{s.status or s.error}" for s in during if not s.ok}),
            "seconds_to_recovery": round(recovered_at - fault.back, 2) if recovered_at else None,
            "requests_after_recovery": len(after),
            "errors_after_recovery": sum(not s.ok for s in after),
            "error_samples_after_recovery": [f"{s.kind} {s.status} {s.error}" for s in after if not s.ok][:5],
        })
    creates = [s for s in samples if s.kind == "create"]
    downloads = [s for s in samples if s.kind == "download"]
    return {
        "duration_s": round(duration, 1),
        "requests": len(samples),
        "creates_ok": sum(s.ok for s in creates),
        "creates_failed": sum(not s.ok for s in creates),
        "downloads_ok": sum(s.ok for s in downloads),
        "downloads_failed": sum(not s.ok for s in downloads),
        "faults": faults,
        "acknowledged_creates": acknowledged,
        "acknowledged_creates_missing": acknowledged_missing,
        "failed_creates_that_committed": f"{ambiguous_committed} of {ambiguous}",
    }


def markdown(report: dict, args) -> str:
    lines = [f"Run: {args.clients} clients, {report['duration_s']} s, {args.workers} gunicorn workers × "
             f"{os.environ.get('GUNICORN_THREADS', '4')} threads, faults: {args.faults}.",
             "",
             f"Requests: {report['requests']} — creates {report['creates_ok']} ok / {report['creates_failed']} failed, "
             f"downloads {report['downloads_ok']} ok / {report['downloads_failed']} failed.",
             "",
             "| fault | database away (s) | errors during outage | seconds to recovery | errors after recovery |",
             "|---|---|---|---|---|"]
    for fault in report["faults"]:
        lines.append(f"| {fault['fault']} | {fault['database_away_s']} | {fault['errors_during_outage']} of "
                     f"{fault['requests_during_outage']} ({', '.join(fault['error_kinds_during_outage']) or '-'}) | "
                     f"{fault['seconds_to_recovery']} | {fault['errors_after_recovery']} of "
                     f"{fault['requests_after_recovery']} |")
    lines += ["", f"Durability: {report['acknowledged_creates']} creates answered 201, "
                  f"{report['acknowledged_creates_missing']} missing afterwards; failed creates that had "
                  f"committed anyway: {report['failed_creates_that_committed']}."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("FAULT_DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/agepar_fault"),
                        help="a superuser URL; its database is created and migrated (default agepar_fault)")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database first")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--restart-at", type=float, default=5, help="seconds into the run")
    parser.add_argument("--crash-at", type=float, default=12, help="seconds into the run")
    parser.add_argument("--faults", choices=["pg", "proxy", "none"], default="pg")
    parser.add_argument("--pg-version", default="15")
    parser.add_argument("--pg-cluster", default="main")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--timeout", type=float, default=40, help="client timeout per request (s)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args()
    args.database = urlsplit(args.database_url).path.lstrip("/") or "agepar_fault"

    workdir = Path(tempfile.mkdtemp(prefix="agepar-fault-"))
    env = {**os.environ, **PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(50),
           "VAR_DIR": str(workdir / "var"), "UPLOAD_ROOT": str(workdir / "uploads"),
           "DATABASE_URL": args.database_url, "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL_FILE", None)
    prepare(args, env)

    proxy = None
    server_env = env
    if args.faults == "proxy":
        parts = urlsplit(args.database_url)
        proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        proxy.up()
        server_env = {**env, "DATABASE_URL": with_port(args.database_url, proxy.port)}
    run = Run()
    server_env["WEB_CONCURRENCY"] = str(args.workers)
    with serve(server_env, workdir, port=args.port) as base:
        owner = signed_in(base)
        item_ids = share_files(owner, base)
        sessions = [signed_in(base) for _ in range(args.clients)]
        faults = {"pg": lambda: PgFaults(args, args.database_url), "proxy": lambda: ProxyFaults(proxy),
                  "none": lambda: None}[args.faults]()
        stop = threading.Event()
        threads = [threading.Thread(target=client, args=(base, s, item_ids, run, stop, args.timeout), daemon=True)
                   for s in sessions]
        log(f"load: {args.clients} clients for {args.duration:g}s, faults: {args.faults}")
        started = time.monotonic()
        for thread in threads:
            thread.start()
        plan = [] if faults is None else [(args.restart_at, "restart (-m fast)", faults.restart),
                                          (args.crash_at, "crash (-m immediate) + start", faults.crash)]
        for at, name, action in plan:
            time.sleep(max(0.0, started + at - time.monotonic()))
            fault = Fault(name, began=time.monotonic())
            log(f"fault: {name}")
            action()
            fault.back = time.monotonic()
            run.faults.append(fault)
            log(f"fault: {name} done, database back after {fault.back - fault.began:.1f}s")
        time.sleep(max(0.0, started + args.duration - time.monotonic()))
        stop.set()
        for thread in threads:
            thread.join(timeout=args.timeout + 5)
        duration = time.monotonic() - started
    if proxy:
        proxy.down()

    acked = [s.idempotency_key for s in run.samples if s.kind == "create" and s.ok]
    failed = [s.idempotency_key for s in run.samples if s.kind == "create" and not s.ok]
    with psycopg.connect(args.database_url) as conn:
        found = conn.execute("SELECT count(*) FROM submissions_submission WHERE idempotency_key = ANY(%s)",
                             [acked]).fetchone()[0]
        committed_anyway = conn.execute("SELECT count(*) FROM submissions_submission WHERE idempotency_key = ANY(%s)",
                                        [failed]).fetchone()[0]
    report = analyse(run, len(acked) - found, len(acked), committed_anyway, len(failed), duration)
    print(markdown(report, args))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    log(f"gunicorn log: {workdir}/gunicorn-{args.port}.log")
    clean = report["acknowledged_creates_missing"] == 0 and all(
        f["errors_after_recovery"] == 0 and f["seconds_to_recovery"] is not None for f in report["faults"])
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
