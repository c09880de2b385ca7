"""No English on any admin screen staff can open: every registered changelist and a change page of each."""

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, override, pgettext
from django_tasks_db.models import DBTaskResult

from audits.services import record

pytestmark = pytest.mark.django_db
PO = "locale/pt_BR/LC_MESSAGES/django.po"
# Words of the English admin and of the third-party apps, none of which is also Portuguese.
ENGLISH = re.compile(r"\b(Add|Change|Delete|Save|Search|Filter|Select|Action|Attempts?|Access|Enqueued|"
                     r"Successful|Ready|Running|Failed|object|Groups?|Username|Expire|Locked|Tasks?|Results?|"
                     r"Path|History|Home|Log out|Logout|password|Permissions?|Name|Time|Today|Any date|Show|"
                     r"View|Yes|None|True|False|Submission|Session|User|Agent|Address|Cancel|Clear|"
                     r"Remove|Choose|Available|Chosen|Can|enqueued|expire|traceback|priority|queue)\b")


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture
def one_of_each(owner, staff, share_of, submission_of, session_of):
    session_of(owner)
    share_of(owner)
    submission = submission_of(owner, status="error")
    record("submission.failed", status="failure", actor=owner, kind="form2json", target=submission,
           details={"error": "tempo esgotado", "attempt": 2, "nested": {"a": [1, 2]}})
    DBTaskResult.objects.create(task_path="submissions.tasks.run_submission", backend_name="default",
                                args_kwargs={"args": [submission.pk], "kwargs": {}}, status="SUCCESSFUL",
                                run_after=timezone.now() + timedelta(days=3650), queue_name="default")
    Group.objects.get(name="auditor")


def registered():
    return [model for model in apps.get_models() if admin.site.is_registered(model)]


def test_every_screen_a_superuser_can_open_is_in_portuguese(superuser, one_of_each):
    client = Client()
    client.force_login(superuser)
    pages = ["/admin/", "/admin/password_change/"]
    for model in registered():
        opts = model._meta
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        first = model._default_manager.order_by("pk").first()
        assert first is not None, f"no {opts.label} row to open"
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[first.pk]))
    pages.append(reverse("admin:accounts_user_add"))
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        found = sorted(set(ENGLISH.findall(visible_text(response.content.decode()))))
        assert not found, f"{url}: {found}"


def test_the_catalogue_is_compiled_from_its_current_source():
    # Every entry of the .po answers from the committed .mo: a stale .mo fails here (run `make messages`).
    entries = re.findall(r'(?:msgctxt "([^"]*)"\n)?msgid "([^"]+)"\nmsgstr "([^"]+)"', Path(PO).read_text())
    assert len(entries) > 15
    with override("pt-br"):
        for context, msgid, msgstr in entries:
            assert (pgettext(context, msgid) if context else gettext(msgid)) == msgstr, msgid
