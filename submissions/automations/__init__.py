"""Automation registry: every module in this package (plus SUBMISSIONS_EXTRA_AUTOMATIONS) is one automation.

A module declares:
    KIND = "form2json"                   # slug stored in Submission.kind
    VERSION = "1.0.0"                    # stored with each submission
    TITLE = "..."                        # shown to users (pt-BR)
    REQUIRED_ROLES = ("automations.form2json",)   # any of them; admin and superusers always pass
    PayloadSerializer                    # a DRF Serializer validating the payload
    def run(payload: dict, submission) -> dict   # the JSON result; raise to fail the run
and optionally RESULT_FILENAME(submission) -> str for the result download.
Adding an automation means adding one module here.
"""

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework import serializers

from accounts.roles import has_role


class AutomationError(Exception):
    """Raised by run() with a message the user may see (anything else is logged, not shown)."""


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

    def run(self, payload: dict, submission) -> dict:
        return self.module.run(payload, submission)

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
