"""Submission rows in a given state, and real `db_worker` processes for the worker tests."""

import contextlib
import subprocess
import sys
import threading
import time

from django.utils import timezone

from submissions.models import Submission
from tests.live import ROOT, production_env

FORM_RESULT_KEYS = {"nome", "email", "departamento", "prioridade", "data", "aceitaTermos", "itens", "metadata"}


def make_submission(actor, *, kind="form2json", status="queued", payload=None, **fields) -> Submission:
    """A row written straight to the table (not through the service), for read and state tests."""
    from tests.submissions.conftest import FORM

    now = timezone.now()
    defaults = {"version": "1.0.0", "actor_cpf": actor.cpf or "", "actor_nome": actor.nome,
                "actor_email": actor.email, "payload": payload if payload is not None else FORM}
    if status in ("running", "done", "error"):
        defaults.update(attempts=1, started_at=now)
    if status in ("done", "error"):
        defaults["finished_at"] = now
    if status == "done":
        defaults["result"] = {"ok": True}
    if status == "error":
        defaults["error"] = "falhou"
    defaults.update(fields)
    return Submission.objects.create(kind=kind, actor=actor, status=status, **defaults)


def at_once(clients, request) -> list:
    """`request(client)` for every client, each on its own thread, all released together; their results."""
    from django.db import connection

    barrier, outcomes = threading.Barrier(len(clients)), []

    def send(client):
        try:
            barrier.wait()
            outcomes.append(request(client))
        finally:
            connection.close()  # the thread's own connection

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextlib.contextmanager
def db_worker(tmp_path, *args: str, name: str = "worker", **env: str):
    """A real `manage.py db_worker` process on the test database, stopped (or already killed) on exit."""
    environment = production_env(tmp_path, TASKS_BACKEND="django_tasks_db.DatabaseBackend", **env)
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay", "--no-reload",
             *args],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )
        process.log_path = log_path
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def payload_error_fields(response) -> set[str]:
    """The payload fields a 400 names: `errors` is flat, nested fields by dotted path (`payload.itens.1.descricao`)."""
    return {key.split(".")[1] for key in response.json()["errors"] if key.startswith("payload.")}
