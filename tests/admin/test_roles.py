"""What each staff persona may see and do in the admin: the table of docs/admin.md, screen by screen.

Personas: superuser, the `admin` role, `controle`, `auditor`, staff without roles, and the admin
role without staff access. Nobody holds a hand-given permission: the roles' permissions come from
accounts.roles, applied to the role groups after migrate.
"""

import re

import pytest
from django.test import Client
from django.utils import timezone

from accounts.roles import ROLE_PERMISSIONS, apply_role_permissions

pytestmark = pytest.mark.django_db

PERSONAS = ("superuser", "staff", "controle", "auditor", "plain_staff", "admin_without_staff")
CHANGELISTS = {
    "accounts.user": "/admin/accounts/user/",
    "accounts.session": "/admin/accounts/session/",
    "audits.auditevent": "/admin/audits/auditevent/",
    "submissions.submission": "/admin/submissions/submission/",
    "fileshare.fileshareitem": "/admin/fileshare/fileshareitem/",
    "auth.group": "/admin/auth/group/",
    "submissions.taskrun": "/admin/submissions/taskrun/",
}
# persona → the changelists it may open (docs/admin.md, "O que cada papel vê e pode fazer").
SEES = {
    "superuser": set(CHANGELISTS),
    "staff": {"accounts.user", "accounts.session", "audits.auditevent", "submissions.submission",
              "fileshare.fileshareitem"},
    "controle": {"audits.auditevent", "submissions.submission"},
    "auditor": {"accounts.user", "accounts.session", "audits.auditevent", "submissions.submission",
                "fileshare.fileshareitem"},
    "plain_staff": set(),
}
# persona → the actions it is offered on each changelist.
ACTIONS = {
    "accounts.user": {"superuser": {"revoke_all_sessions", "deactivate_users"},
                      "staff": {"revoke_all_sessions", "deactivate_users"}},
    "accounts.session": {"superuser": {"revoke_selected"}, "staff": {"revoke_selected"}},
    "submissions.submission": {"superuser": {"retry_selected", "mark_as_error"},
                               "staff": {"retry_selected", "mark_as_error"},
                               "controle": {"retry_selected", "mark_as_error"}},
    "fileshare.fileshareitem": {"superuser": {"expire_now", "delete_items"}, "staff": {"expire_now", "delete_items"}},
}


@pytest.fixture
def signed_in(request):
    def sign_in(persona: str) -> Client:
        client = Client()
        client.force_login(request.getfixturevalue(persona))
        return client

    return sign_in


def offered_actions(html: str) -> set[str]:
    return set(re.findall(r'<option value="([a-z_]+)"', html.split('name="action"', 1)[1].split("</select>")[0])) \
        if 'name="action"' in html else set()


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_opens_the_changelists_and_actions_of_its_roles(signed_in, persona):
    client = signed_in(persona)
    for label, url in CHANGELISTS.items():
        response = client.get(url)
        if persona == "admin_without_staff":
            # A role without staff access never opens the admin: off to the sign-in page.
            assert response.status_code == 302 and "/admin/login/" in response["Location"], url
            continue
        allowed = label in SEES[persona]
        assert response.status_code == (200 if allowed else 403), (persona, url)
        if allowed and label in ACTIONS:
            assert offered_actions(response.content.decode()) == ACTIONS[label].get(persona, set()), (persona, url)


@pytest.mark.parametrize("persona", ["staff", "controle", "auditor", "plain_staff"])
def test_the_index_lists_exactly_what_the_persona_may_open(signed_in, persona):
    html = signed_in(persona).get("/admin/").content.decode()
    for label, url in CHANGELISTS.items():
        assert (f'href="{url}"' in html) == (label in SEES[persona]), (persona, url)
    if persona == "plain_staff":
        assert "Você não tem permissão para ver ou editar nada." in html


def test_view_only_personas_cannot_run_a_destructive_action_by_posting_it(
        signed_in, owner, session_of, share_of, submission_of):
    session, share, submission = session_of(owner), share_of(owner), submission_of(owner)
    # Posted straight, confirmation included (a forged form): the action is not among theirs.
    forged = [("/admin/accounts/session/", "revoke_selected", session.pk),
              ("/admin/accounts/user/", "deactivate_users", owner.pk),
              ("/admin/accounts/user/", "revoke_all_sessions", owner.pk),
              ("/admin/fileshare/fileshareitem/", "delete_items", share.pk),
              ("/admin/fileshare/fileshareitem/", "expire_now", share.pk),
              ("/admin/submissions/submission/", "mark_as_error", submission.pk)]
    for persona in ("auditor", "plain_staff", "controle"):
        client = signed_in(persona)
        for url, action, pk in forged:
            if persona == "controle" and action == "mark_as_error":
                continue  # controle may (tests/submissions/test_admin.py)
            client.post(url, {"action": action, "_selected_action": [pk], "confirm": "1", "reason": "x"})
    for row in (session, share, submission, owner):
        row.refresh_from_db()
    assert session.revoked_at is None and owner.is_active
    assert share.deleted_at is None and share.expires_at > timezone.now()
    assert submission.status == "queued"


def test_applying_the_role_table_is_idempotent_and_restores_drift(django_user_model):
    from django.contrib.auth.models import Group, Permission

    assert apply_role_permissions() == {"groups_created": 0, "groups_changed": 0}
    auditor = Group.objects.get(name="auditor")
    auditor.permissions.add(Permission.objects.get(codename="change_user"))
    Group.objects.get(name="controle").delete()
    assert apply_role_permissions() == {"groups_created": 1, "groups_changed": 2}
    for name, codes in ROLE_PERMISSIONS.items():
        held = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=name).permissions.all()}
        assert held == set(codes), name
    assert apply_role_permissions() == {"groups_created": 0, "groups_changed": 0}


def test_the_admin_role_holds_every_other_roles_permissions():
    # So adding a role to an admin never widens what an admin may do.
    admin = set(ROLE_PERMISSIONS["admin"])
    for name, codes in ROLE_PERMISSIONS.items():
        assert set(codes) <= admin, name


def test_a_permission_not_yet_migrated_is_an_error_unless_migrate_is_partial(django_user_model):
    # `migrate audits 0005` sends post_migrate before the later models (and their permissions) exist.
    from django.contrib.auth.models import Group, Permission

    Permission.objects.filter(content_type__app_label="fileshare", codename="view_fileshareitem").delete()
    with pytest.raises(LookupError, match="fileshare.view_fileshareitem"):
        apply_role_permissions()
    apply_role_permissions(missing_ok=True)
    held = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name="auditor").permissions.all()}
    assert held == set(ROLE_PERMISSIONS["auditor"]) - {"fileshare.view_fileshareitem"}


# persona → the change pages it may save (the others it may open are read-only for it).
EDITS = {"superuser": {"accounts.user", "auth.group"}, "staff": {"accounts.user"}}


@pytest.fixture
def one_row_of_each(owner, session_of, share_of, submission_of):
    """The primary key of a row of each model in CHANGELISTS (the user is an ordinary one, not staff)."""
    from datetime import timedelta

    from django.contrib.auth.models import Group
    from django_tasks_db.models import DBTaskResult

    from audits.services import record

    submission = submission_of(owner, status="error")
    task = DBTaskResult.objects.create(task_path="submissions.tasks.run_submission", backend_name="default",
                                       args_kwargs={"args": [submission.pk], "kwargs": {}}, status="SUCCESSFUL",
                                       run_after=timezone.now() + timedelta(days=1), queue_name="default")
    return {"accounts.user": owner.pk, "accounts.session": session_of(owner).pk,
            "audits.auditevent": record("submission.failed", status="failure", actor=owner, kind="form2json",
                                        target=submission).pk,
            "submissions.submission": submission.pk, "fileshare.fileshareitem": share_of(owner).pk,
            "auth.group": Group.objects.get(name="auditor").pk, "submissions.taskrun": task.pk}


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_opens_the_change_pages_of_its_roles_read_only_unless_it_may_edit(
        signed_in, persona, one_row_of_each):
    client = signed_in(persona)
    for label, url in CHANGELISTS.items():
        page = f"{url}{one_row_of_each[label]}/change/"
        response = client.get(page)
        if persona == "admin_without_staff":
            assert response.status_code == 302 and "/admin/login/" in response["Location"], page
            continue
        if label not in SEES[persona]:
            assert response.status_code == 403, (persona, page)
            continue
        assert response.status_code == 200, (persona, page)
        html = response.content.decode()
        editable = label in EDITS.get(persona, set())
        assert ('name="_save"' in html) == editable, (persona, page)
        # Read-only: every field drawn as text, no input of the model's fields at all.
        inputs = re.findall(r'<(?:input|select|textarea)\b(?![^>]*type="hidden")[^>]*name="(\w+)"',
                            html.split('id="content-main"', 1)[1])
        if editable:
            assert "email" in inputs or "name" in inputs, (persona, page)
        else:
            assert '<div class="readonly">' in html and not inputs, (persona, page, inputs)
