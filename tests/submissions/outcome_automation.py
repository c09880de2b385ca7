"""A test automation whose payload says how its run ends: files, a passing or a permanent failure,
or a sleep (for timeouts). Loaded through SUBMISSIONS_EXTRA_AUTOMATIONS by tests and real workers."""

import io
import time

from rest_framework import serializers

from submissions.automations import AutomationError, Result, ResultFile, RetryableAutomationError
from submissions.payloads import PayloadSerializer as BasePayload
from submissions.payloads import StrictIntegerField

KIND = "test-outcome"
VERSION = "0.1.0"
TITLE = "Automação de teste com desfecho escolhido"
REQUIRED_ROLES = ("admin",)
MAX_RESULT_SIZE = 64 * 1024


class PayloadSerializer(BasePayload):
    mode = serializers.ChoiceField(choices=["files", "one_file", "retryable", "permanent", "sleep"])
    size = StrictIntegerField(min_value=0, max_value=10**6, default=10)
    seconds = StrictIntegerField(min_value=0, max_value=600, default=0)


def run(payload, submission):
    mode = payload["mode"]
    if mode == "retryable":
        raise RetryableAutomationError("Serviço externo indisponível.")
    if mode == "permanent":
        raise AutomationError("Dados recusados pelo serviço externo.")
    if mode == "sleep":
        time.sleep(payload.get("seconds", 0))
        return {"slept": payload.get("seconds", 0)}
    report = ResultFile("relatorio.txt", "text/plain", b"r" * payload.get("size", 10))
    if mode == "one_file":
        return Result({"ok": True}, [report])
    return Result({"ok": True}, [report, ResultFile("dados.csv", "text/csv", io.BytesIO(b"a,b\n1,2\n"))])
