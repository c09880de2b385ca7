"""A test automation, loaded through SUBMISSIONS_EXTRA_AUTOMATIONS by the test and by real workers.

Its first attempt sleeps for `seconds` (long enough to be killed mid-run); later attempts finish
at once. The payload's `marker` file records every run, so the test can count executions.
"""

import time
from pathlib import Path

from submissions.payloads import PayloadSerializer as BasePayload
from submissions.payloads import StrictCharField, StrictIntegerField

KIND = "test-slow"
VERSION = "0.1.0"
TITLE = "Automação lenta de teste"
REQUIRED_ROLES = ("admin",)


class PayloadSerializer(BasePayload):
    seconds = StrictIntegerField(min_value=0, max_value=600)
    marker = StrictCharField(max_length=500)


def run(payload, submission):
    with open(payload["marker"], "a") as marker:
        marker.write(f"{submission.pk}:{submission.attempts}\n")
    if submission.attempts == 1:
        time.sleep(payload["seconds"])
    return {"attempt": submission.attempts, "ran": Path(payload["marker"]).exists()}
