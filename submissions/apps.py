from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = "Submissões"

    def ready(self):
        from submissions import queue, tasks

        queue.register(tasks.run_submission)
