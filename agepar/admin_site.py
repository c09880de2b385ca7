"""The admin site: Portal AGEPAR branding, apps in the order staff use them.

Labels are Portuguese at their source: our models' verbose names, locale/pt_BR for third-party ones.

Installed through `AgeparAdminConfig` (in INSTALLED_APPS instead of "django.contrib.admin"), so
`admin.site` and every `@admin.register` in the apps use this site without knowing about it.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.db import transaction
from django.urls import reverse

SITE_HEADER = "Portal AGEPAR — Administração"

# Daily work first (submissions, audits), then people and files, then the plumbing.
APP_ORDER = ["submissions", "audits", "accounts", "fileshare", "auth"]


class AgeparAdminSite(admin.AdminSite):
    site_header = SITE_HEADER
    site_title = SITE_HEADER
    index_title = "Administração do portal"
    # The portal's front end is served elsewhere; "/" here is not a page, so no "Ver o site" link.
    site_url = None
    # The app list is on the index and in the breadcrumbs; the sidebar would take the width that the
    # changelists' columns need at 1366 px.
    enable_nav_sidebar = False

    def index(self, request, extra_context=None):
        if request.user.has_perm("submissions.view_submission"):
            from agepar import dashboard  # (this module is imported before the models)

            extra_context = {**(extra_context or {}), "dashboard": dashboard.context()}
        return super().index(request, extra_context)

    def login(self, request, extra_context=None):
        # The new session row and the sign-in's audit event (accounts.admin_audit) commit together.
        with transaction.atomic():
            return super().login(request, extra_context)

    def logout(self, request, extra_context=None):
        with transaction.atomic():  # the sign-out's event and the session's end, together
            return super().logout(request, extra_context)

    def password_change(self, request, extra_context=None):
        from accounts.admin import OwnPasswordChangeView  # (this module is imported before the models)

        request.current_app = self.name
        return OwnPasswordChangeView.as_view(
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})})(request)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        order = {label: position for position, label in enumerate(APP_ORDER)}
        apps.sort(key=lambda app: (order.get(app["app_label"], len(order)), app["name"]))
        return apps


class AgeparAdminConfig(AdminConfig):
    default_site = "agepar.admin_site.AgeparAdminSite"
