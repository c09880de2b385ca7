"""deploy/backup.sh then deploy/restore.sh into an empty database and upload folder give back every
row (count and checksum of each table) and every file (SHA-256) — issue 7 item 2 — and a sealed
audit trail that still verifies, by the application and by the standalone verifier (issue 19).

The source is the test database itself, seeded through the API (users, sessions, submissions,
share items and the audit events they write) plus files of every shape in the upload folder.
"""

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from audits.seals import seal_audits
from audits.services import record
from tests import live
from tests.conftest import make_client
from tests.factories import UserFactory
from tests.ops import pg

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FORM = {"nome": "Ana Dona", "email": "ana@agepar.go.gov.br", "departamento": "Compras", "prioridade": "alta",
        "data": "2025-03-14", "aceitaTermos": True, "itens": [{"descricao": "Cadeira", "quantidade": 2}]}


def _seed(upload_root: Path) -> None:
    users = [UserFactory(nome="Ana Dona", cpf="52998224725", roles=["automations.form2json"]),
             UserFactory(nome="João Ação", roles=["automations.form2json", "compras"]),
             UserFactory(nome="Inativo", is_active=False)]
    for number, user in enumerate(users[:2]):
        client = make_client(user)  # a session row each
        for _ in range(3):
            created = client.post("/api/submissions", {"kind": "form2json", "payload": FORM}, format="json")
            assert created.status_code == 201, created.content
        for index, content in enumerate([b"%PDF-1.4\n" + os.urandom(300_000), "relatório ✓\n".encode() * 50]):
            name = "doc.pdf" if index == 0 else "relatório de ação.txt"
            shared = client.post("/api/fileshare/items", {"file": SimpleUploadedFile(name, content), "ttl": "7d",
                                                          "password": "segredo" if number else ""},
                                 format="multipart")
            assert shared.status_code == 201, shared.content
    record("ops.backup_seeded", actor=users[0], details={"texto": "ação — “aspas” ✓", "n": [1, 2.5, None]})
    seal_audits(max_events=5)
    # Files the database does not know about are part of the folder all the same.
    (upload_root / "nested" / "deeper").mkdir(parents=True)
    (upload_root / "nested" / "deeper" / "random.bin").write_bytes(os.urandom(1_000_000))
    (upload_root / "nested" / "empty").write_bytes(b"")
    (upload_root / "nested" / "nome com espaço e ç.txt").write_text("ç")


def _files(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


def _postgres_checksums(url: str) -> dict:
    with psycopg.connect(url) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        sums = {table: conn.execute(
            f'SELECT count(*), md5(coalesce(string_agg(t::text, E\'\\n\' ORDER BY t::text), \'\')) FROM "{table}" t'  # noqa: S608
        ).fetchone() for table in tables}
        sums["sequences"] = conn.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1").fetchall()
    return sums


def _sqlite_checksums(path: str) -> dict:
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1")]
        sums = {}
        for table in tables:
            rows = sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{table}"'))  # noqa: S608
            sums[table] = (len(rows), hashlib.md5("\n".join(rows).encode()).hexdigest())  # noqa: S324
        sums["schema"] = sorted(conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=repr)
    return sums


def _run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if "DATABASE_URL" not in k}
    return subprocess.run([str(live.ROOT / "deploy" / script), *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=300)


def _assert_seals_verify(env: dict, *verifier_source: str) -> None:
    """The restored trail verifies: `manage.py verify_audits` and deploy/verify-audit-seals.py."""
    verified = subprocess.run([sys.executable, "manage.py", "verify_audits"], cwd=live.ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
    assert verified.returncode == 0 and "audit trail intact" in verified.stdout, verified.stderr
    standalone = subprocess.run([sys.executable, str(live.ROOT / "deploy" / "verify-audit-seals.py"),
                                 *verifier_source], capture_output=True, text=True, timeout=300)
    assert standalone.returncode == 0 and " 0 bad," in standalone.stdout, standalone.stdout + standalone.stderr


def _backup(tmp_path, settings, **env) -> Path:
    made = _run("backup.sh", UPLOAD_ROOT=str(settings.UPLOAD_ROOT), BACKUP_DIR=str(tmp_path / "backups"),
                BACKUP_DATABASE_URL=live.test_database_url(), **env)
    assert made.returncode == 0, made.stderr
    return Path(made.stdout.strip())


@pytest.fixture
def seeded(settings):
    settings.UPLOAD_ROOT.mkdir(parents=True, exist_ok=True)
    _seed(settings.UPLOAD_ROOT)
    return _files(settings.UPLOAD_ROOT)


def test_postgres_backup_restores_every_row_and_file_into_an_empty_database(seeded, settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL round trip (the SQLite one is the next test)")
    if not pg.can_create_roles():
        pytest.skip("DATABASE_URL's role cannot create the empty target database and its roles")
    source = _postgres_checksums(live.test_database_url())
    assert source["audits_auditevent"][0] >= 12 and source["fileshare_fileshareitem"][0] == 4
    assert source["submissions_submission"][0] == 6 and source["accounts_user"][0] == 3
    assert len(seeded) == 7

    backup = _backup(tmp_path, settings)
    assert sorted(p.name for p in backup.iterdir()) == ["INVENTORY.json", "MANIFEST", "SHA256SUMS", "db.dump",
                                                         "uploads.tar.gz"]

    # The way production restores: a new empty database with the roles applied, the owner restoring.
    target = pg.RolesDatabase.create("restore")
    try:
        restored_uploads = tmp_path / "restored-uploads"
        restored = _run("restore.sh", str(backup), MIGRATE_DATABASE_URL=target.owner_url,
                        UPLOAD_ROOT=str(restored_uploads))
        assert restored.returncode == 0, restored.stderr

        assert _postgres_checksums(target.owner_url) == source
        assert _files(restored_uploads) == seeded
        # The app role may verify (it reads); an auditor needs no owner rights for that.
        _assert_seals_verify(pg.clean_env(DATABASE_URL=target.app_url, VAR_DIR=str(tmp_path)), "--psql", target.app_url)
        with target.connect("app") as conn:  # the restored audit trail is still append-only for the app
            assert conn.execute("SELECT has_table_privilege('audits_auditevent', 'DELETE'),"
                                " has_table_privilege('fileshare_fileshareitem', 'UPDATE')").fetchone() == (False, True)

        # Never merged into something that is not empty.
        again = _run("restore.sh", str(backup), MIGRATE_DATABASE_URL=target.owner_url,
                     UPLOAD_ROOT=str(tmp_path / "other-uploads"))
        assert again.returncode != 0 and "not empty" in again.stderr
        assert _postgres_checksums(target.owner_url) == source
    finally:
        target.drop()


def test_sqlite_backup_restores_every_row_and_file(seeded, settings, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite round trip (the PostgreSQL one is the previous test)")
    source_path = connection.settings_dict["NAME"]
    source = _sqlite_checksums(source_path)
    assert source["fileshare_fileshareitem"][0] == 4 and source["submissions_submission"][0] == 6

    backup = _backup(tmp_path, settings)
    assert sorted(p.name for p in backup.iterdir()) == ["INVENTORY.json", "MANIFEST", "SHA256SUMS", "db.sqlite3",
                                                         "uploads.tar.gz"]
    target = tmp_path / "restored" / "db.sqlite3"
    restored = _run("restore.sh", str(backup), RESTORE_DATABASE_URL=f"sqlite:///{target}",
                    UPLOAD_ROOT=str(tmp_path / "restored-uploads"))
    assert restored.returncode == 0, restored.stderr
    assert _sqlite_checksums(str(target)) == source
    assert _files(tmp_path / "restored-uploads") == seeded
    restored_env = pg.clean_env(DATABASE_URL=f"sqlite:///{target}", VAR_DIR=str(tmp_path))
    _assert_seals_verify(restored_env, "--sqlite", str(target))


def test_a_corrupted_backup_is_refused_before_anything_is_restored(seeded, settings, tmp_path):
    backup = _backup(tmp_path, settings)
    archive = backup / "uploads.tar.gz"
    archive.write_bytes(archive.read_bytes()[:-10] + b"0123456789")
    restored_uploads = tmp_path / "restored-uploads"
    restored = _run("restore.sh", str(backup), RESTORE_DATABASE_URL=f"sqlite:///{tmp_path / 'never.sqlite3'}",
                    UPLOAD_ROOT=str(restored_uploads))
    assert restored.returncode != 0 and "checksum mismatch" in restored.stderr
    assert not restored_uploads.exists() and not (tmp_path / "never.sqlite3").exists()


def test_retention_keeps_the_newest_backups(seeded, settings, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    for stamp in ("20200101T000000Z", "20200102T000000Z", "20200103T000000Z"):
        (backups / f"agepar-{stamp}").mkdir()
    (backups / "unrelated").mkdir()
    newest = _backup(tmp_path, settings, BACKUP_KEEP="2")
    assert sorted(p.name for p in backups.iterdir()) == sorted(["agepar-20200103T000000Z", newest.name, "unrelated"])
