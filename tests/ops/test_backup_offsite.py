"""Off-site backups (issue 15 item 7, must-show 4): deploy/backup.sh encrypts each backup with age
before it leaves the host and copies it to an S3 bucket (moto's server here), whose copies older
than the retention it deletes; deploy/restore.sh restores from that copy into an empty database and
folder; deploy/restore-test.sh (the monthly test) restores the latest copy into a scratch database
and compares every table's row count and every file's SHA-256 with the inventory the backup made.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection

from bench.s3 import BUCKET
from tests import live
from tests.ops import pg
from tests.ops.test_backup_restore import _files, _postgres_checksums, _run, _seed, _sqlite_checksums
from tests.tools import require_tools

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PREFIX = "backups/"


def _require(*tools: str) -> None:
    """age and the PostgreSQL clients come from Debian (.ci/run installs age): CI fails without them."""
    require_tools(*tools, installed_by="age (and postgresql-client)")


def _keypair(path: Path) -> str:
    """An age identity written to `path`; returns its public key (the recipient)."""
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    return next(line.split(": ", 1)[1] for line in path.read_text().splitlines() if line.startswith("# public key: "))


def _stamp(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%SZ")


@pytest.fixture
def offsite(bucket, s3_endpoint, tmp_path):
    """The environment of a host copying its backups to the bucket, and the identity to restore them."""
    _require("age", "age-keygen")
    identity = tmp_path / "backup-identity.txt"
    env = {"BACKUP_S3_BUCKET": BUCKET, "BACKUP_S3_PREFIX": PREFIX, "BACKUP_S3_ENDPOINT_URL": s3_endpoint,
           "BACKUP_S3_REGION": "us-east-1", "BACKUP_S3_ACCESS_KEY_ID": "testing",
           "BACKUP_S3_SECRET_ACCESS_KEY": "testing", "BACKUP_AGE_RECIPIENTS": _keypair(identity),
           "BACKUP_DIR": str(tmp_path / "backups"), "PYTHON": sys.executable}
    return env, identity


@pytest.fixture
def seeded(settings):
    settings.UPLOAD_ROOT.mkdir(parents=True, exist_ok=True)
    _seed(settings.UPLOAD_ROOT)
    return _files(settings.UPLOAD_ROOT)


def _keys(client) -> list[str]:
    return sorted(obj["Key"] for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def _backup_offsite(settings, bucket, env: dict) -> str:
    """backup.sh with the bucket: returns the copy's name, having checked retention ran on the bucket."""
    now = datetime.now(UTC)
    old, recent = f"{PREFIX}agepar-{_stamp(now - timedelta(days=40))}.tar.age", \
        f"{PREFIX}agepar-{_stamp(now - timedelta(days=5))}.tar.age"
    for key in (old, recent, "elsewhere/agepar-20200101T000000Z.tar.age", f"{PREFIX}README"):
        bucket.put_object(Bucket=BUCKET, Key=key, Body=b"not ours to judge")
    made = _run("backup.sh", UPLOAD_ROOT=str(settings.UPLOAD_ROOT), BACKUP_DATABASE_URL=live.test_database_url(),
                **env)
    assert made.returncode == 0, made.stderr
    local, copy, *pruned = made.stdout.splitlines()
    assert Path(local).is_dir() and copy.startswith("s3:agepar-") and copy.endswith(".tar.age")
    assert (Path(local) / "INVENTORY.json").is_file()
    name = copy.removeprefix("s3:")
    # Retention of 30 days in the bucket: the 40-day-old copy went, the rest under the prefix and elsewhere stayed.
    assert pruned == [f"s3copy: deleted {old.removeprefix(PREFIX)}"]
    assert _keys(bucket) == sorted([recent, f"{PREFIX}{name}", "elsewhere/agepar-20200101T000000Z.tar.age",
                                    f"{PREFIX}README"])
    bucket.delete_object(Bucket=BUCKET, Key=recent)  # s3:latest is the new copy either way; keep it obvious
    return name


def _assert_unreadable_without_the_key(bucket, name: str, tmp_path: Path, env: dict) -> None:
    """The object in the bucket is age ciphertext: no dump, no tar, nothing of the data in clear,
    and another identity (or none) cannot decrypt it."""
    body = bucket.get_object(Bucket=BUCKET, Key=PREFIX + name)["Body"].read()
    assert body.startswith(b"age-encryption.org/v1\n")
    for clear in (b"PGDMP", b"SQLite format 3", b"ustar", b"Ana Dona", b"52998224725", b"%PDF-1.4",
                  "relatório".encode()):
        assert clear not in body
    copy = tmp_path / name
    copy.write_bytes(body)
    assert subprocess.run(["tar", "-tf", str(copy)], capture_output=True).returncode != 0
    if shutil.which("pg_restore"):
        assert subprocess.run(["pg_restore", "--list", str(copy)], capture_output=True).returncode != 0
    stranger = tmp_path / "stranger.txt"
    _keypair(stranger)
    decrypted = subprocess.run(["age", "--decrypt", "--identity", str(stranger), str(copy)], capture_output=True)
    assert decrypted.returncode != 0 and decrypted.stdout == b""
    # restore.sh without the identity, or with the wrong one, refuses and writes nothing.
    never_db, never_uploads = tmp_path / "never.sqlite3", tmp_path / "never-uploads"
    for identity in ({}, {"BACKUP_AGE_IDENTITY_FILE": str(stranger)}):
        refused = _run("restore.sh", "s3:latest", RESTORE_DATABASE_URL=f"sqlite:///{never_db}",
                       UPLOAD_ROOT=str(never_uploads), **env, **identity)
        assert refused.returncode != 0, refused.stdout
        assert not never_db.exists() and not never_uploads.exists()
    assert [p.name for p in Path(env["BACKUP_DIR"]).iterdir()] == []  # no decrypted leftovers


def _restore_test(env: dict, identity: Path, **extra: str) -> subprocess.CompletedProcess:
    return _run("restore-test.sh", **env, BACKUP_AGE_IDENTITY_FILE=str(identity), **extra)


def test_postgres_backup_goes_encrypted_to_s3_and_restores_identically_from_there(
        seeded, settings, tmp_path, bucket, offsite):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL round trip (the SQLite one is the next test)")
    _require("pg_dump", "pg_restore", "psql")
    if not pg.can_create_roles():
        pytest.skip("DATABASE_URL's role cannot create the empty target database and its roles")
    env, identity = offsite
    source = _postgres_checksums(live.test_database_url())
    assert source["fileshare_fileshareitem"][0] == 4 and source["submissions_submission"][0] == 6

    name = _backup_offsite(settings, bucket, env)
    shutil.rmtree(env["BACKUP_DIR"])  # the host's disk is gone: only the bucket is left
    os.mkdir(env["BACKUP_DIR"])
    _assert_unreadable_without_the_key(bucket, name, tmp_path, env)

    target = pg.RolesDatabase.create("offsite")
    try:
        uploads = tmp_path / "restored-uploads"
        restored = _run("restore.sh", f"s3:{name}", MIGRATE_DATABASE_URL=target.owner_url, UPLOAD_ROOT=str(uploads),
                        BACKUP_AGE_IDENTITY_FILE=str(identity), **env)
        assert restored.returncode == 0, restored.stderr
        assert _postgres_checksums(target.owner_url) == source
        assert _files(uploads) == seeded
        assert [p.name for p in Path(env["BACKUP_DIR"]).iterdir()] == []  # the decrypted copy is gone

        # The monthly test: the latest copy into a scratch database it creates and drops.
        scratch_before = _scratch_databases()
        tested = _restore_test(env, identity, RESTORE_TEST_ADMIN_DATABASE_URL=pg.admin_url("postgres"))
        assert tested.returncode == 0, tested.stdout + tested.stderr
        assert "identical" in tested.stdout and "s3:latest restored" in tested.stdout
        assert _scratch_databases() == scratch_before
        assert [p.name for p in Path(env["BACKUP_DIR"]).iterdir()] == []

        # The comparison is not a formality: a row and a file fewer in a restored copy are named.
        backup = tmp_path / "unpacked"
        backup.mkdir()
        subprocess.run(["age", "-d", "-i", str(identity), "-o", str(tmp_path / "copy.tar"), str(tmp_path / name)],
                       check=True)
        with tarfile.open(tmp_path / "copy.tar") as tar:
            tar.extractall(backup, filter="data")
        migrations = json.loads((backup / "INVENTORY.json").read_text())["tables"]["django_migrations"]
        with target.connect("owner") as conn:
            conn.execute("DELETE FROM django_migrations WHERE id = (SELECT max(id) FROM django_migrations)")
        (uploads / "nested" / "empty").unlink()
        compared = subprocess.run([sys.executable, str(live.ROOT / "deploy" / "backup-inventory.py"), "compare",
                                   str(backup), "--database", target.owner_url, "--uploads", str(uploads)],
                                  capture_output=True, text=True, timeout=300)
        assert compared.returncode == 1
        assert f"table differs: django_migrations (backup {migrations}, restored {migrations - 1})" in compared.stderr
        assert "file missing: nested/empty" in compared.stderr
    finally:
        target.drop()


def _scratch_databases() -> set[str]:
    with pg.admin_connect() as conn:
        return {row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'agepar\\_restore\\_test\\_%'")}


def test_sqlite_backup_goes_encrypted_to_s3_and_restores_identically_from_there(
        seeded, settings, tmp_path, bucket, offsite):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite round trip (the PostgreSQL one is the previous test)")
    env, identity = offsite
    source = _sqlite_checksums(connection.settings_dict["NAME"])
    assert source["fileshare_fileshareitem"][0] == 4 and source["submissions_submission"][0] == 6

    name = _backup_offsite(settings, bucket, env)
    shutil.rmtree(env["BACKUP_DIR"])
    os.mkdir(env["BACKUP_DIR"])
    _assert_unreadable_without_the_key(bucket, name, tmp_path, env)

    target, uploads = tmp_path / "restored" / "db.sqlite3", tmp_path / "restored-uploads"
    restored = _run("restore.sh", "s3:latest", RESTORE_DATABASE_URL=f"sqlite:///{target}", UPLOAD_ROOT=str(uploads),
                    BACKUP_AGE_IDENTITY_FILE=str(identity), **env)
    assert restored.returncode == 0, restored.stderr
    assert _sqlite_checksums(str(target)) == source
    assert _files(uploads) == seeded

    tested = _restore_test(env, identity)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "identical" in tested.stdout
    assert [p.name for p in Path(env["BACKUP_DIR"]).iterdir()] == []


def test_restore_test_fails_when_the_restore_differs_from_the_inventory(seeded, settings, tmp_path, bucket, offsite):
    """A copy whose inventory promises more than it gives back (as a broken dump or archive would)."""
    env, identity = offsite
    extra = {}
    if connection.vendor == "postgresql":
        _require("pg_dump", "pg_restore", "psql")
        extra["RESTORE_TEST_ADMIN_DATABASE_URL"] = pg.admin_url("postgres")
    local = {k: v for k, v in env.items() if not k.startswith("BACKUP_S3_")}
    made = _run("backup.sh", UPLOAD_ROOT=str(settings.UPLOAD_ROOT), BACKUP_DATABASE_URL=live.test_database_url(),
                **local)
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.splitlines()[0])
    inventory = (backup / "INVENTORY.json").read_text()
    assert '"submissions_submission": 6' in inventory and '"nested/empty": "e3b0c442' in inventory
    inventory = inventory.replace('"submissions_submission": 6', '"submissions_submission": 7')
    (backup / "INVENTORY.json").write_text(inventory.replace('"nested/empty": "e3b0c442', '"nested/empty": "00000000'))
    sums = backup / "SHA256SUMS"
    sums.write_text("".join(f"{hashlib.sha256((backup / name).read_bytes()).hexdigest()}  {name}\n"
                            for name in (line.split()[1] for line in sums.read_text().splitlines())))

    tested = _restore_test(local, identity, **extra)  # no bucket: the newest local backup
    assert tested.returncode == 1, tested.stdout + tested.stderr
    assert "table differs: submissions_submission (backup 7, restored 6)" in tested.stderr
    assert "file differs: nested/empty" in tested.stderr and "FAILED" in tested.stderr
    assert "MISMATCH" in tested.stdout
    assert sorted(p.name for p in Path(env["BACKUP_DIR"]).iterdir()) == [backup.name]  # scratch folder removed
    if connection.vendor == "postgresql":
        assert not any(name.endswith(backup.name[-8:]) for name in _scratch_databases())


def test_backup_refuses_to_copy_off_site_unencrypted(settings, tmp_path, bucket, offsite):
    env, _ = offsite
    settings.UPLOAD_ROOT.mkdir(parents=True, exist_ok=True)
    refused = _run("backup.sh", UPLOAD_ROOT=str(settings.UPLOAD_ROOT), BACKUP_DATABASE_URL=live.test_database_url(),
                   **{**env, "BACKUP_AGE_RECIPIENTS": ""})
    assert refused.returncode == 2 and "unencrypted" in refused.stderr
    assert _keys(bucket) == [] and not Path(env["BACKUP_DIR"]).exists()


def test_retention_in_the_bucket_deletes_copies_older_than_the_period_and_keeps_newer(bucket, offsite):
    env, _ = offsite
    now = datetime.now(UTC)
    ages = {days: f"{PREFIX}agepar-{_stamp(now - timedelta(days=days, hours=1))}.tar.age" for days in (45, 31, 29, 1)}
    others = [f"{PREFIX}agepar-old.tar.age", f"{PREFIX}notes.txt", "other/agepar-20200101T000000Z.tar.age"]
    for key in [*ages.values(), *others]:
        bucket.put_object(Bucket=BUCKET, Key=key, Body=b"x")

    def prune(**extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(live.ROOT / "deploy" / "s3copy.py"), "prune"],
                              env={**os.environ, **env, **extra}, capture_output=True, text=True, timeout=60)

    assert prune().returncode == 0
    assert _keys(bucket) == sorted([ages[29], ages[1], *others])  # 30 days by default
    assert prune(BACKUP_S3_RETENTION_DAYS="7").returncode == 0  # configurable
    assert _keys(bucket) == sorted([ages[1], *others])
    bucket.delete_object(Bucket=BUCKET, Key=ages[1])
    bucket.put_object(Bucket=BUCKET, Key=ages[45], Body=b"x")
    bucket.put_object(Bucket=BUCKET, Key=ages[31], Body=b"x")
    assert prune().returncode == 0  # backups stopped for weeks: the newest copy stays, however old
    assert _keys(bucket) == sorted([ages[31], *others])
