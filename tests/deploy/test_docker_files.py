"""The shipped container files hold together without a Docker engine (none runs here):

- docker-compose.yml, read by a real YAML parser (and by docker-compose's own `config` when
  installed), references only services, volumes, files and scripts that exist, and runs web and
  worker as the app role with health checks and restart policies;
- the .dockerignore rules, applied to the tree the way Docker applies them, keep secrets, local
  state, virtualenvs and history out of the build context;
- the web health check passes with the ALLOWED_HOSTS of .env.example on a real gunicorn;
- the image that runs db_worker has LibreOffice (DFD PDFs), the web image does not;
- the Dockerfile, read by dockerfile-parse: every base pinned to an exact release, every image compose
  runs starts as a non-root uid, web and worker have their own HEALTHCHECK on deploy/healthcheck.py,
  and what COPY and the commands need is not dropped by .dockerignore.
"""

import io
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from tests import live
from tests.live import ROOT, serve
from tests.tools import require_tools

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
    require_tools("docker-compose", installed_by="Debian's docker-compose")
    tool = shutil.which("docker-compose")
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


def _dockerfile(text: str | None = None) -> dict[str, dict]:
    """{stage name: {"base": FROM image (ARGs resolved) or stage, "steps": [(INSTRUCTION, value)]}},
    in file order, as dockerfile-parse (the parser OpenShift's and Fedora's image builders use) reads it."""
    parser = DockerfileParser(fileobj=io.BytesIO((text or (ROOT / "Dockerfile").read_text()).encode()))
    bases = iter(parser.parent_images)
    stages: dict[str, dict] = {}
    for step in parser.structure:
        instruction, value = step["instruction"], step["value"]
        if instruction == "FROM":
            alias = re.search(r"\s+AS\s+(\S+)\s*$", value, flags=re.I)
            stages[alias.group(1) if alias else f"stage{len(stages)}"] = {"base": next(bases), "steps": []}
        elif instruction != "COMMENT" and stages:
            stages[list(stages)[-1]]["steps"].append((instruction, value))
    return stages


def _steps(stages: dict[str, dict], name: str) -> list[tuple[str, str]]:
    """A stage's instructions preceded by those of the stages it is built FROM."""
    stage = stages[name]
    return (_steps(stages, stage["base"]) if stage["base"] in stages else []) + stage["steps"]


def _stage_text(stages: dict[str, dict], name: str) -> str:
    return "\n".join(f"{instruction} {value}" for instruction, value in _steps(stages, name))


def _image_targets(stages: dict[str, dict]) -> dict[str, str]:
    """{compose service: the stage it runs}; a build without `target` gets the last stage."""
    default_target = list(stages)[-1]  # what `docker build .` gives
    targets = {}
    for name, service in SERVICES.items():
        if "build" in service:
            build = service["build"]
            targets[name] = build.get("target", default_target) if isinstance(build, dict) else default_target
    return targets


def test_the_worker_image_converts_documents_and_the_web_image_stays_small():
    stages = _dockerfile()
    for name, target in _image_targets(stages).items():
        has_office = "libreoffice-writer-nogui" in _stage_text(stages, target)
        if "db_worker" in _commands(SERVICES[name]):
            assert has_office, f"{name} runs db_worker without LibreOffice (the DFD's PDF)"
        else:
            assert not has_office, f"{name} carries LibreOffice it never runs"
    assert "db_worker" in _stage_text(stages, "worker") and "gunicorn" in _stage_text(stages, list(stages)[-1])


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


# The image, read with dockerfile-parse. The base is pinned to a full patch release: its digest
# cannot be fetched or verified from here (no registry), so the tests accept a digest but demand the
# exact version tag, and reject `latest`, a bare minor (`3.11-slim`) and an ARG without a default.
PINNED_IMAGE = re.compile(r"^[\w.-]+(?:/[\w.-]+)*:\d+\.\d+\.\d+(?:-[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$")


def _base_images(stages: dict[str, dict]) -> list[str]:
    return [stage["base"] for stage in stages.values() if stage["base"] not in stages]


def test_every_base_image_is_pinned_to_an_exact_release():
    bases = _base_images(_dockerfile())
    assert bases
    for image in bases:
        assert PINNED_IMAGE.match(image), f"FROM {image} is not pinned to an exact release"


def test_the_pin_check_rejects_floating_bases():
    for floating in ["python:3.11-slim-bookworm", "python:latest", "python", "${PYTHON_IMAGE}",
                     "python:3.11.11-slim@sha256:abc"]:
        text = f"ARG PYTHON_IMAGE\nFROM {floating} AS build\nFROM build AS web\nCMD [\"true\"]\n"
        assert not all(PINNED_IMAGE.match(image) for image in _base_images(_dockerfile(text))), floating
    pinned = "FROM python:3.11.11-slim-bookworm@sha256:" + "a" * 64 + "\n"
    assert all(PINNED_IMAGE.match(image) for image in _base_images(_dockerfile(pinned)))


def _uid(user: str, steps: list[tuple[str, str]]) -> int:
    """The uid USER switches to: a number, or a name the stage created with `useradd --uid N`."""
    name = user.split(":")[0]
    if name.isdigit():
        return int(name)
    if name == "root":
        return 0
    for instruction, value in steps:
        created = re.search(rf"useradd\b[^&;]*--uid[ =](\d+)[^&;]*\s{re.escape(name)}\b", value)
        if instruction == "RUN" and created:
            return int(created.group(1))
    raise AssertionError(f"USER {user}: no useradd --uid creates it")


def _runs_as(stages: dict[str, dict], name: str) -> int:
    """The uid the stage's CMD/ENTRYPOINT runs as (the last USER before it, inherited stages included)."""
    steps, user, runs_as = _steps(stages, name), "root", None
    for instruction, value in steps:
        if instruction == "USER":
            user = value.strip()
        elif instruction in ("CMD", "ENTRYPOINT"):
            runs_as = _uid(user, steps)
    assert runs_as is not None, f"stage {name} has no CMD or ENTRYPOINT"
    return runs_as


def test_every_image_compose_runs_starts_as_a_non_root_user():
    stages = _dockerfile()
    targets = set(_image_targets(stages).values()) | {list(stages)[-1]}
    assert {"web", "worker"} <= targets
    for target in targets:
        assert _runs_as(stages, target) >= 1000, f"stage {target} runs as root or a system uid"
    # The worker stage goes back to root to install LibreOffice: a forgotten USER after it is root.
    forgot = _dockerfile((ROOT / "Dockerfile").read_text().replace(
        "USER agepar\nHEALTHCHECK --interval=30s", "HEALTHCHECK --interval=30s"))
    assert _runs_as(forgot, "worker") == 0


def _health_command(stages: dict[str, dict], name: str) -> list[str] | None:
    """The exec-form command of the stage's last HEALTHCHECK (inherited stages included)."""
    command = None
    for instruction, value in _steps(stages, name):
        if instruction == "HEALTHCHECK":
            command = None if value.strip() == "NONE" else json.loads(value.split(" CMD ", 1)[1])
    return command


def test_the_web_and_worker_images_check_their_own_health():
    stages = _dockerfile()
    rules = _rules()
    web = _health_command(stages, list(stages)[-1])
    assert web == ["python", "deploy/healthcheck.py"]
    worker = _health_command(stages, "worker")
    compose_worker = SERVICES["worker"].get("healthcheck", {}).get("test", [])
    assert (worker and "--worker" in worker) or "--worker" in compose_worker
    for command in (web, worker):
        script = next(word for word in command if word.endswith(".py"))
        # The script is in the repository and the build context sends it into the image.
        assert (ROOT / script).is_file() and not _ignored(script, rules), script
    assert "--worker" in (ROOT / "deploy" / "healthcheck.py").read_text()


def test_copy_sources_are_in_the_build_context():
    rules = _rules()
    stages = _dockerfile()
    copies = [value.split() for stage in stages.values() for instruction, value in stage["steps"]
              if instruction in ("COPY", "ADD") and "--from=" not in value]
    assert copies
    for words in copies:
        for source in [word for word in words[:-1] if not word.startswith("--")]:
            if source == ".":
                continue
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert not _ignored(source, rules), f"COPY {source}: .dockerignore leaves it out of the context"
    # `COPY . .` carries what the images run: the files named by CMD and HEALTHCHECK are not ignored.
    named = {word for stage in stages.values() for instruction, value in stage["steps"]
             if instruction in ("CMD", "HEALTHCHECK", "ENTRYPOINT")
             for word in re.findall(r"[\w-]+(?:/[\w.-]+)*\.(?:py|sh)", value)}
    assert {"manage.py", "deploy/healthcheck.py", "deploy/gunicorn.conf.py"} <= named
    for path in named:
        assert (ROOT / path).is_file() and not _ignored(path, rules), f"{path} would be missing from the image"
