"""Automation registry: every module in this package (plus SUBMISSIONS_EXTRA_AUTOMATIONS) is one automation.

A module declares:
    KIND = "form2json"                   # slug stored in Submission.kind
    VERSION = "1.0.0"                    # stored with each submission
    TITLE = "..."                        # shown to users (pt-BR)
    REQUIRED_ROLES = ("automations.form2json",)   # any of them; admin and superusers always pass
    PayloadSerializer                    # a DRF Serializer validating the payload
    def run(payload: dict, submission) -> dict | Result   # the JSON result, or JSON + files
and optionally:
    RESULT_FILENAME(submission) -> str   # name of the JSON result's download
    TIMEOUT = 300                        # seconds a run may take (default SUBMISSIONS_TIMEOUT)
    MAX_RESULT_SIZE = 20 * 1024**2       # bytes of files one run may store (default SUBMISSIONS_MAX_RESULT_SIZE)
    UNIQUE_FIELD = "protocolo"           # a payload field no two live submissions of this kind share (409)
    DUPLICATE_MESSAGE = "..."            # the 409's detail for UNIQUE_FIELD
    RESULT_LABELS = {"total": "Total"}   # Portuguese labels of result keys that are not payload fields

run() fails the run by raising AutomationError (the message is shown to the user; the run ends
in `error`) or RetryableAutomationError (a passing failure: the run is queued again with a growing
delay, up to SUBMISSIONS_MAX_ATTEMPTS). It runs on a thread of its own that the worker abandons
at the deadline (submissions/tasks.py): anything that blocks (a subprocess, a network call) must
be bounded by `time_left()`.
Adding an automation means adding one module here.
"""

import importlib
import pkgutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from types import ModuleType
from typing import IO

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework import serializers

from accounts.roles import has_role


class AutomationError(Exception):
    """Raised by run() with a message the user may see (anything else is logged, not shown)."""


class RetryableAutomationError(AutomationError):
    """A passing failure (a converter timeout, storage briefly away): run again later, with backoff."""


@dataclass(frozen=True)
class ResultFile:
    """A file produced by a run: `name` is what the user downloads it as (letters, digits, `._-`)."""

    name: str
    content_type: str
    content: bytes | IO[bytes]


@dataclass(frozen=True)
class Result:
    """What run() returns when it produces files: the JSON result (listed with the files) and the files."""

    data: dict
    files: Sequence[ResultFile] = ()


# How the admin labels result keys that the platform writes (the files listing of
# submissions.results) and the metadata block every automation here ends its result with.
RESULT_LABELS = {
    "files": "Arquivos", "name": "Nome", "size": "Tamanho (bytes)", "content_type": "Tipo de conteúdo",
    "sha256": "SHA-256", "metadata": "Metadados", "engine": "Gerado por", "geradoEm": "Gerado em",
    "submissionId": "Submissão",
}


def field_labels(serializer: serializers.Serializer) -> dict[str, str]:
    """Each field's label by name, in the serializer's order, then those of nested serializers (a
    name keeps its outermost label)."""
    labels = {name: str(field.label) for name, field in serializer.fields.items()}
    for field in serializer.fields.values():
        nested = getattr(field, "child", field)  # `many=True` wraps the item serializer
        if isinstance(nested, serializers.Serializer):
            for name, label in field_labels(nested).items():
                labels.setdefault(name, label)
    return labels


_run_state = threading.local()


def time_left() -> float | None:
    """Seconds until the current run's deadline (None outside a run): the bound for anything that blocks."""
    deadline = getattr(_run_state, "deadline", None)
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def set_deadline(deadline: float | None) -> None:
    """Called by the worker on the run's own thread (a time.monotonic() value)."""
    _run_state.deadline = deadline


@dataclass(frozen=True)
class Automation:
    kind: str
    version: str
    title: str
    required_roles: tuple[str, ...]
    module: ModuleType

    @property
    def payload_serializer(self) -> type[serializers.Serializer]:
        return self.module.PayloadSerializer

    @cached_property
    def payload_labels(self) -> dict[str, str]:
        """The payload's field labels by key (the admin shows payloads as labelled tables)."""
        return field_labels(self.payload_serializer())

    @cached_property
    def result_labels(self) -> dict[str, str]:
        """Result keys named like payload fields take their labels, the others the module's RESULT_LABELS,
        then the platform's (in that order on the page too)."""
        labels = dict(self.payload_labels)
        for extra in (getattr(self.module, "RESULT_LABELS", {}), RESULT_LABELS):
            for key, label in extra.items():
                labels.setdefault(key, label)
        return labels

    def run(self, payload: dict, submission) -> dict | Result:
        return self.module.run(payload, submission)

    @property
    def timeout(self) -> float:
        return getattr(self.module, "TIMEOUT", None) or settings.SUBMISSIONS_TIMEOUT

    @property
    def max_result_size(self) -> int:
        return getattr(self.module, "MAX_RESULT_SIZE", None) or settings.SUBMISSIONS_MAX_RESULT_SIZE

    def unique_key(self, payload: dict) -> str | None:
        """The normalised value of UNIQUE_FIELD (compared without case), or None."""
        field = getattr(self.module, "UNIQUE_FIELD", None)
        value = payload.get(field) if field else None
        return " ".join(str(value).split()).casefold()[:200] if value not in (None, "") else None

    @property
    def duplicate_message(self) -> str:
        return getattr(self.module, "DUPLICATE_MESSAGE", "Já existe uma submissão com estes dados.")

    def allowed(self, user) -> bool:
        return has_role(user, *self.required_roles)

    def result_filename(self, submission) -> str:
        name = getattr(self.module, "RESULT_FILENAME", None)
        return name(submission) if name else f"{self.kind}-{submission.pk}.json"


def _load(module: ModuleType) -> Automation:
    missing = [a for a in ("KIND", "VERSION", "TITLE", "REQUIRED_ROLES", "PayloadSerializer", "run")
               if not hasattr(module, a)]
    if missing:
        raise ImproperlyConfigured(f"automation module {module.__name__} lacks {', '.join(missing)}")
    return Automation(kind=module.KIND, version=module.VERSION, title=module.TITLE,
                      required_roles=tuple(module.REQUIRED_ROLES), module=module)


@cache
def _registry() -> dict[str, Automation]:
    names = [f"{__name__}.{info.name}" for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    # Extra modules by dotted path (e.g. an organisation's own automations, or test automations run
    # by real worker processes, which cannot see anything registered inside the test process).
    names += list(settings.SUBMISSIONS_EXTRA_AUTOMATIONS)
    registry: dict[str, Automation] = {}
    for name in names:
        automation = _load(importlib.import_module(name))
        if automation.kind in registry:
            raise ImproperlyConfigured(f"two automation modules declare KIND={automation.kind!r}")
        registry[automation.kind] = automation
    return dict(sorted(registry.items()))


def all_automations() -> dict[str, Automation]:
    return _registry()


def get(kind: str) -> Automation | None:
    return _registry().get(kind)


@receiver(setting_changed)
def _extra_automations_changed(*, setting, **kwargs):
    if setting == "SUBMISSIONS_EXTRA_AUTOMATIONS":
        _registry.cache_clear()
