from django.apps import AppConfig


class AgeparConfig(AppConfig):
    name = "agepar"
    verbose_name = "Portal AGEPAR"

    def ready(self):
        from agepar import checks  # noqa: F401  (registers the system checks)
