"""A test automation that logs a line and then fails with a traceback (the log-context tests)."""

import logging

from submissions.payloads import PayloadSerializer as BasePayload
from submissions.payloads import StrictIntegerField

KIND = "test-failing"
VERSION = "0.1.0"
TITLE = "Automação de teste que falha"
REQUIRED_ROLES = ("admin",)
logger = logging.getLogger(__name__)


class PayloadSerializer(BasePayload):
    n = StrictIntegerField(min_value=0, max_value=10)


def run(payload, submission):
    logger.info("about to fail on purpose")
    raise RuntimeError("boom inside the automation")
