from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django_tasks_db.apps import TasksAppConfig


class AgeparConfig(AppConfig):
    # This module has two AppConfig classes: without `default`, Django would pick neither for
    # "agepar" and ready() (checks, grants after migrate, connection tuning, log ids) would never run.
    default = True
    name = "agepar"
    verbose_name = "Portal AGEPAR"

    def ready(self):
        from agepar import checks  # noqa: F401  (registers the system checks)
        from agepar.db_grants import revoke_append_only_rewrites
        from agepar.postgres import tune_connection

        # post_migrate is sent per app with models, after all migrations ran: the audits app's is
        # the one whose tables this guards (agepar itself has no models, so gets no signal).
        post_migrate.connect(revoke_append_only_rewrites, sender=self.apps.get_app_config("audits"),
                             dispatch_uid="agepar.revoke_append_only_rewrites")
        connection_created.connect(tune_connection, dispatch_uid="agepar.tune_connection")
        # The running task's id on every log line of its run (agepar.logging.log_context).
        from django_tasks.signals import task_finished, task_started

        from agepar import logging as agepar_logging

        task_started.connect(agepar_logging.task_started, dispatch_uid="agepar.log_task_started")
        task_finished.connect(agepar_logging.task_finished, dispatch_uid="agepar.log_task_finished")


# A third-party app under a Portuguese name (Django's documented way: a subclass in INSTALLED_APPS);
# its label stays, so migrations and permissions are untouched.
class TaskQueueConfig(TasksAppConfig):
    verbose_name = "Fila de tarefas"
