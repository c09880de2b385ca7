"""The admin site: Portal AGEPAR branding, apps in the order staff use them, every label in Portuguese.

Installed through `AgeparAdminConfig` (in INSTALLED_APPS instead of "django.contrib.admin"), so
`admin.site` and every `@admin.register` in the apps use this site without knowing about it.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

SITE_HEADER = "Portal AGEPAR — Administração"

# Daily work first (submissions, audits), then people and files, then the plumbing.
APP_ORDER = ["submissions", "audits", "accounts", "fileshare", "operations", "auth", "django_tasks_database"]
# Third-party apps whose labels ship without a Brazilian Portuguese translation.
APP_NAMES = {"django_tasks_database": "Fila de tarefas"}
MODEL_NAMES = {
    ("django_tasks_database", "DBTaskResult"): "Resultados de tarefas",
}


class AgeparAdminSite(admin.AdminSite):
    site_header = SITE_HEADER
    site_title = SITE_HEADER
    index_title = "Administração do portal"
    # The portal's front end is served elsewhere; "/" here is not a page, so no "Ver o site" link.
    site_url = None

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        order = {label: position for position, label in enumerate(APP_ORDER)}
        for app in apps:
            app["name"] = APP_NAMES.get(app["app_label"], app["name"])
            for model in app["models"]:
                model["name"] = MODEL_NAMES.get((app["app_label"], model["object_name"]), model["name"])
        apps.sort(key=lambda app: (order.get(app["app_label"], len(order)), app["name"]))
        return apps


class AgeparAdminConfig(AdminConfig):
    default_site = "agepar.admin_site.AgeparAdminSite"
