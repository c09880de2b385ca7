"""Third-party admin screens replaced by ours. This app comes after them in INSTALLED_APPS, so their
`admin.py` has registered them by the time this one runs."""

from django.contrib import admin
from django_tasks_db.models import DBTaskResult

# The task queue is shown by submissions.admin.TaskRunAdmin (read-only, in Portuguese, linked to
# its submission).
admin.site.unregister(DBTaskResult)
