"""Upload a large file (default 1 GiB) to a real gunicorn worker and report its memory growth and throughput.

    .venv/bin/python bench/upload_memory.py [--size 1G] [--database-url postgresql://...]

Budget (DESIGN.md §6): peak RSS growth of the worker under 64 MiB; throughput at least half of a
plain `cp` of a file of the same size on the same disk, measured in the same run.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MIB = 1024 * 1024


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MIB, "G": 1024 * MIB}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else int(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="1G")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    size = parse_size(args.size)
    work = Path(tempfile.mkdtemp(prefix="agepar-bench-upload-"))
    try:
        run(size, work, args.database_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(size: int, work: Path, database_url: str):
    from tests.live import PRODUCTION_ENV

    os.environ.update(PRODUCTION_ENV)
    os.environ.update({"VAR_DIR": str(work / "var"), "UPLOAD_ROOT": str(work / "uploads"),
                       "DATABASE_URL": database_url or f"sqlite:///{work / 'bench.sqlite3'}",
                       "FILESHARE_MAX_UPLOAD_SIZE": str(size + MIB), "FILESHARE_USER_QUOTA_BYTES": str(size * 2)})
    import django

    django.setup()
    from django.core.management import call_command

    from fileshare.models import FileShareItem
    from tests.factories import UserFactory
    from tests.fileshare.live_upload import (
        MultipartStream,
        gunicorn_worker_pids,
        memory_kib,
        reset_peak,
        session_for,
        upload_all,
    )
    from tests.live import gunicorn

    call_command("migrate", verbosity=0)
    user = UserFactory(nome="Bench Upload")
    spool = work / "spool"
    spool.mkdir()

    # Baseline: cp of a file of the same size, same disk.
    source = work / "source.bin"
    with open(source, "wb") as out:
        block = b"A" * MIB
        for _ in range(size // MIB):
            out.write(block)
        out.write(b"A" * (size % MIB))
    started = time.perf_counter()
    subprocess.run(["cp", str(source), str(work / "copy.bin")], check=True)
    os.sync()
    cp_seconds = time.perf_counter() - started
    source.unlink()
    (work / "copy.bin").unlink()

    with gunicorn(work, workers=1, FILE_UPLOAD_TEMP_DIR=str(spool)) as base:
        http = session_for(base, user)
        upload_all(base, http, MultipartStream(MIB))  # warm-up: every module imported
        (worker,) = gunicorn_worker_pids(base)
        baseline = memory_kib(worker, "VmRSS")
        reset_peak(worker)
        body = MultipartStream(size)
        started = time.perf_counter()
        status, response = upload_all(base, http, body)
        os.sync()
        upload_seconds = time.perf_counter() - started
        peak = memory_kib(worker, "VmHWM")
    assert status == 201, response[:500]
    item = FileShareItem.objects.get(size=size)
    assert item.sha256 == body.sha256.hexdigest()
    growth = (peak - baseline) / 1024
    print(f"upload of {size / MIB:.0f} MiB: worker RSS {baseline / 1024:.1f} MiB -> peak {peak / 1024:.1f} MiB, "
          f"growth {growth:.1f} MiB (budget < 64 MiB) {'OK' if growth < 64 else 'OVER BUDGET'}")
    upload_rate, cp_rate = size / MIB / upload_seconds, size / MIB / cp_seconds
    print(f"throughput: upload {upload_rate:.0f} MiB/s, cp baseline {cp_rate:.0f} MiB/s, "
          f"ratio {upload_rate / cp_rate:.2f} (budget >= 0.5) {'OK' if upload_rate >= cp_rate / 2 else 'UNDER BUDGET'}")


if __name__ == "__main__":
    main()
