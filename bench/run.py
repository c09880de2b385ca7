"""Run the benchmark suite: `make bench` (PostgreSQL only).

    .venv/bin/python bench/run.py [--quick] [--reuse] [--only lists,throughput,...] [--runs 3]

Creates the database named by BENCH_DATABASE_URL (dropped first unless --reuse), migrates,
seeds 1M audit events, 1M submissions, 100k sessions and 100k shares (--quick: 20k/20k/5k/5k)
or clones them from `<name>_seeded` when that template matches (see create_database),
starts the app and the floor under gunicorn with the same worker count, runs the suites and
writes bench/results/<stamp>.json, bench/results/latest.{json,md} and the results section of
docs/BENCHMARKS.md. Each figure is printed next to its baseline as soon as it is measured.
"""

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEFAULT_DATABASE_URL, ROOT, THREADS, WORKERS, bench_env, server  # noqa: E402

SUITES = ("auth", "lists", "partitions", "throughput", "creates", "admin", "seals", "transfer", "direct", "maintenance")
FULL = {"audits": 1_000_000, "submissions": 1_000_000, "sessions": 100_000, "shares": 100_000}
QUICK = {"audits": 20_000, "submissions": 20_000, "sessions": 5_000, "shares": 5_000}
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"


class Context:
    """What every suite needs: servers, signed-in headers, the dataset's shape, the run's knobs."""

    def __init__(self, args, env, work, database_url, sizes):
        self.args, self.env, self.work, self.database_url, self.sizes = args, env, work, database_url, sizes
        self.quick = args.quick
        self.runs = args.runs
        self.samples = 60 if args.quick else 150  # requests per latency round
        self.seconds = 3 if args.quick else 8  # per load-generator run
        self.app = self.floor = None
        self.results = []

    def manage(self, *args: str, **env: str) -> tuple[float, str]:
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**self.env, **env},
                             capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
        return time.perf_counter() - started, out.stdout

    def add(self, result):
        self.results.append(result)
        print(result.line(), flush=True)


def _admin_url(database_url: str, name: str) -> str:
    return database_url.rsplit("/", 1)[0] + "/" + name


def _dataset_key(sizes: dict) -> str:
    """What a seeded copy depends on: the sizes, the seeder and every migration."""
    digest = hashlib.sha256(json.dumps(sizes, sort_keys=True).encode())
    for path in sorted([*ROOT.glob("*/migrations/0*.py"), ROOT / "bench/seed.py"]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def create_database(ctx, database_url: str, sizes: dict) -> None:
    """Drop and create the bench database: cloned from a seeded template when one matches, else seeded.

    The template (`<name>_seeded`) makes a rerun start in seconds; it is rebuilt whenever the
    sizes, the seeder or a migration change. The first run pays the full seed.
    """
    import psycopg

    name = urlsplit(database_url).path.lstrip("/")
    template, key = f"{name}_seeded", _dataset_key(sizes)
    with psycopg.connect(_admin_url(database_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        found = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                             [template]).fetchone()
        if found and found[0] == key:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            print(f"database cloned from {template}", flush=True)
            return
        conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    ctx.manage("migrate", "--noinput", "-v0")
    from django.db import connection

    from bench.seed import seed

    seed(**sizes, log=lambda line: print(line, flush=True))
    # A template must have no other session on it: this process's pooled connections go, as Django's
    # own test runner closes them before it clones a test database.
    connection.close()
    connection.close_pool()
    with psycopg.connect(_admin_url(database_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{template}" TEMPLATE "{name}"')
        conn.execute(f"COMMENT ON DATABASE \"{template}\" IS '{key}'")


def machine(database_url: str) -> dict:
    import psycopg

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    with psycopg.connect(database_url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in (
            "shared_buffers", "work_mem", "effective_cache_size", "synchronous_commit", "max_connections",
            "random_page_cost")}
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_mib": memory, "postgres": version, "pg_settings": settings,
            "python": platform.python_version(), "gunicorn": f"{WORKERS} workers × {THREADS} threads (gthread)"}


def markdown(results, meta) -> str:
    lines = [f"Run {meta['stamp']} · sizes {meta['sizes']} · seed {meta.get('seed_seconds', 0):.0f} s · "
             f"suites {meta.get('suite_seconds', 0):.0f} s · {meta['machine']['nproc']} CPU "
             f"{meta['machine']['cpu']} · PostgreSQL {meta['machine']['postgres']}", "",
             "| Group | Measure | Value | Baseline | Ratio | Budget | Holds |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        baseline = f"{r['baseline']:.4g} {r['unit']} ({r['baseline_name']})" if r["baseline"] else "—"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else "—"
        holds = "—" if r["ok"] is None else ("yes" if r["ok"] else "**no**")
        lines.append(f"| {r['group']} | {r['name']} | {r['value']:.4g} {r['unit']} | {baseline} | {ratio} | "
                     f"{r['budget'] or '—'} | {holds} |")
    return "\n".join(lines) + "\n"


def write(ctx, meta) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "results": [r.as_dict() for r in ctx.results]}
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    (RESULTS / f"{meta['stamp']}{'-quick' if ctx.quick else ''}.json").write_text(text)
    if ctx.quick:
        return
    (RESULTS / "latest.json").write_text(text)
    table = markdown(data["results"], meta)
    (RESULTS / "latest.md").write_text(table)
    if DOC.exists() and ctx.args.only is None:
        doc = DOC.read_text()
        if START in doc and END in doc:
            head, rest = doc.split(START, 1)
            DOC.write_text(f"{head}{START}\n{table}{END}{rest.split(END, 1)[1]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small dataset and short runs (development)")
    parser.add_argument("--reuse", action="store_true", help="keep the database and its rows (no reseed)")
    parser.add_argument("--only", help=f"comma-separated suites among {', '.join(SUITES)}")
    parser.add_argument("--runs", type=int, default=3, help="repetitions; each figure is their median")
    args = parser.parse_args()
    suites = args.only.split(",") if args.only else list(SUITES)
    database_url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith("postgres"):
        sys.exit("bench: BENCH_DATABASE_URL must point at PostgreSQL")
    sizes = QUICK if args.quick else FULL
    work = Path(tempfile.mkdtemp(prefix="agepar-bench-"))
    env = bench_env(database_url, work)
    os.environ.update(env)
    meta = {"stamp": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"), "sizes": sizes, "database": database_url}
    ctx = Context(args, env, work, database_url, sizes)
    import django

    django.setup()  # the seed runs in this process, then the suites' own queries
    if not args.reuse:
        started = time.perf_counter()
        create_database(ctx, database_url, sizes)
        meta["seed_seconds"] = time.perf_counter() - started
        print(f"database ready in {meta['seed_seconds']:.0f} s", flush=True)
    ctx.manage("collectstatic", "--noinput", "-v0")  # the admin pages need the manifest (DEBUG off)
    meta["machine"] = machine(database_url)
    import logging

    logging.getLogger("agepar.access").setLevel(logging.WARNING)  # this process's own test-client requests
    from bench import suites as suite_modules
    from bench.seed import bench_accounts

    ctx.password = bench_accounts()  # drawn afresh each run: a cloned database carries an earlier run's

    started = time.perf_counter()
    with server(env, work) as app, server(env, work, "bench.floor_app:application") as floor:
        ctx.app, ctx.floor = app, floor
        suite_modules.prepare(ctx)
        for name in suites:
            suite_started = time.perf_counter()
            print(f"--- {name}", flush=True)
            getattr(suite_modules, name)(ctx)
            print(f"--- {name}: {time.perf_counter() - suite_started:.0f} s", flush=True)
            meta["suite_seconds"] = time.perf_counter() - started
            write(ctx, meta)
    failed = [r for r in ctx.results if r.ok is False]
    print(f"done in {time.perf_counter() - started:.0f} s; {len(failed)} figure(s) outside their budget")


if __name__ == "__main__":
    main()
