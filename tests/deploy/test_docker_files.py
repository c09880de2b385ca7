"""The shipped container files hold together without a Docker engine (none runs here):

- docker-compose.yml, read by a real YAML parser (and by docker-compose's own `config` when
  installed), references only services, volumes, files and scripts that exist, and runs web and
  worker as the app role with health checks and restart policies;
- the .dockerignore rules, applied to the tree the way Docker applies them, keep secrets, local
  state, virtualenvs and history out of the build context;
- the web health check passes with the ALLOWED_HOSTS of .env.example on a real gunicorn;
- the image that runs db_worker has LibreOffice (DFD PDFs), the web image does not.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from tests import live
from tests.live import ROOT, serve

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _commands(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_every_reference_of_the_compose_file_exists():
    declared_volumes = set(COMPOSE.get("volumes", {}))
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown service {dependency}"
        if "build" in service:
            context = ROOT / (service["build"] if isinstance(service["build"], str) else service["build"]["context"])
            assert (context / "Dockerfile").is_file()
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: bind mount {source} is not in the repository"
            else:
                assert source in declared_volumes, f"{name}: volume {source} is not declared"
        for script in re.findall(r"(?:deploy/[\w./-]+|manage\.py)", _commands(service)) + [
                word for check in [service.get("healthcheck", {}).get("test", [])] for word in check
                if isinstance(word, str) and word.startswith("deploy/")]:
            path = ROOT / script
            assert path.is_file(), f"{name}: {script} does not exist"
            if path.suffix == ".sh":
                assert os.access(path, os.X_OK), f"{name}: {script} is not executable"
        for env_file in [service.get("env_file")] if isinstance(service.get("env_file"), str) else []:
            assert env_file == ".env" and (ROOT / ".env.example").is_file()  # the operator copies it


def test_roles_health_checks_and_schedules():
    for name in ("web", "worker", "scheduler", "requeue-stale"):
        assert SERVICES[name]["environment"]["DATABASE_URL"].startswith("postgresql://agepar_app:"), name
        assert SERVICES[name]["restart"] == "unless-stopped"
    assert "healthcheck" in SERVICES["web"] and "--worker" in SERVICES["worker"]["healthcheck"]["test"]
    migrate = _commands(SERVICES["migrate"])
    assert "apply-roles.sh" in migrate and "as-migrator.sh migrate" in migrate
    assert SERVICES["migrate"]["environment"]["MIGRATE_DATABASE_URL"].startswith("postgresql://agepar_owner:")
    assert SERVICES["db"]["image"] == "postgres:15"
    assert SERVICES["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    scheduler = (ROOT / "deploy" / "scheduler.sh").read_text()
    assert "run_maintenance -v 0" in scheduler and "backup.sh" in scheduler


def test_docker_compose_itself_accepts_the_file(tmp_path):
    """docker-compose (Debian's, v1) validates the file against the compose schema, offline."""
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose is missing: .ci/run installs Debian's docker-compose")
        pytest.skip("docker-compose is not installed")
    # The operator's checkout: the repository plus a .env copied from .env.example.
    for entry in ROOT.iterdir():
        if entry.name not in (".env", ".git"):
            (tmp_path / entry.name).symlink_to(entry)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run([tool, "config"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # As compose reads .env: a comment after an empty value would become the value.
    for name, service in yaml.safe_load(result.stdout)["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            assert not str(value).startswith("#"), f"{name}: {variable}={value!r} (a comment read as a value)"


def _dockerfile_stages() -> dict[str, dict]:
    """{stage name: {"base": FROM image or stage, "text": its instructions}}, in file order."""
    stages: dict[str, dict] = {}
    for chunk in re.split(r"^(?=FROM )", (ROOT / "Dockerfile").read_text(), flags=re.M)[1:]:
        head = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", chunk, flags=re.I)
        stages[head.group(2) or f"stage{len(stages)}"] = {"base": head.group(1), "text": chunk}
    return stages


def _stage_text(stages: dict[str, dict], name: str) -> str:
    """A stage's instructions with those of the stages it is built FROM."""
    stage = stages[name]
    return (_stage_text(stages, stage["base"]) if stage["base"] in stages else "") + stage["text"]


def test_the_worker_image_converts_documents_and_the_web_image_stays_small():
    stages = _dockerfile_stages()
    default_target = list(stages)[-1]  # what `docker build .` gives

    def target(service: dict) -> str:
        build = service["build"]
        return build.get("target", default_target) if isinstance(build, dict) else default_target

    for name, service in SERVICES.items():
        if "build" not in service:
            continue
        has_office = "libreoffice-writer-nogui" in _stage_text(stages, target(service))
        if "db_worker" in _commands(service):
            assert has_office, f"{name} runs db_worker without LibreOffice (the DFD's PDF)"
        else:
            assert not has_office, f"{name} carries LibreOffice it never runs"
    assert "db_worker" in stages["worker"]["text"] and "gunicorn" in stages[default_target]["text"]


def _docker_pattern(pattern: str) -> re.Pattern:
    """One .dockerignore pattern as Docker reads it: Go filepath.Match plus `**`, rooted at the context."""
    pattern = os.path.normpath(pattern.strip().lstrip("/"))
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            regex += ".*"
            i += 2
            if pattern.startswith("/", i):  # `**/` also matches nothing
                regex = regex[:-2] + "(?:.*/)?"
                i += 1
            continue
        char = pattern[i]
        regex += "[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char)
        i += 1
    return re.compile(f"^{regex}$")


def _ignored(relative: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    """Last matching rule wins; a rule that matches a parent directory matches everything below it."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for negated, regex in rules:
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def _rules() -> list[tuple[bool, re.Pattern]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), _docker_pattern(line.removeprefix("!"))))
    return rules


def test_the_matcher_reads_patterns_like_docker():
    rules = [(False, _docker_pattern("**/__pycache__")), (False, _docker_pattern(".env.*")),
             (True, _docker_pattern(".env.example")), (False, _docker_pattern("var"))]
    assert _ignored("agepar/__pycache__/x.pyc", rules) and _ignored("__pycache__/y", rules)
    assert _ignored(".env.local", rules) and not _ignored(".env.example", rules)
    assert _ignored("var/db.sqlite3", rules) and not _ignored("agepar/var.py", rules)


def test_dockerignore_keeps_secrets_state_and_history_out_of_the_image(tmp_path):
    rules = _rules()
    # What a developer's checkout has on disk (whether or not this one does right now).
    for must_go in [".env", ".env.production", ".git/config", ".venv/bin/python", "var/dev-secret-key",
                    "var/db.sqlite3", "var/uploads/2026/01/x", "var/backups/agepar-1/db.dump",
                    "agepar/__pycache__/settings.cpython-311.pyc", "tests/conftest.py"]:
        assert _ignored(must_go, rules), f"{must_go} would be sent into the image"
    for must_stay in ["manage.py", "agepar/settings.py", "deploy/gunicorn.conf.py", "requirements.lock",
                      "deploy/nginx/templates/agepar.conf.template", ".env.example", "templates"]:
        assert not _ignored(must_stay, rules), f"{must_stay} would be missing from the image"
    # And on the real tree: every file the build context would carry.
    sent = [str(path.relative_to(ROOT)) for path in ROOT.rglob("*")
            if path.is_file() and not _ignored(str(path.relative_to(ROOT)), rules)]
    assert sent and not [name for name in sent if name.startswith((".git/", ".venv/", "var/", ".env"))
                         and name != ".env.example"]


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = re.sub(r"\s+#.*$", "", value).strip()
    return {name: value for name, value in values.items() if value}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_web_health_check_passes_with_the_configured_allowed_hosts(tmp_path):
    env = {**os.environ, **_env_example(), "DJANGO_SETTINGS_MODULE": "agepar.settings",
           "SECRET_KEY": "compose-test-" + "0123456789abcdef" * 4, "DATABASE_URL": live.test_database_url(),
           "VAR_DIR": str(tmp_path / "var"), "UPLOAD_ROOT": str(tmp_path / "uploads"), "WEB_CONCURRENCY": "1"}
    env.pop("STATIC_ROOT", None)
    assert env["ALLOWED_HOSTS"] == "portal.agepar.go.gov.br" and env["SECURE_SSL_REDIRECT"] == "1"
    with serve(env, tmp_path, wait_for_health=False) as base:
        port = base.rsplit(":", 1)[1]
        check = subprocess.run([sys.executable, str(ROOT / "deploy" / "healthcheck.py")], env={**env, "PORT": port},
                               capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr
        # What the old check did: Host 127.0.0.1 is not an allowed host.
        import requests

        assert requests.get(f"{base}/api/health", timeout=30).status_code == 400
