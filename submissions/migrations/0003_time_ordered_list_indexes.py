"""Lists newest first by (created_at, id): the (column, -id) indexes become (column, -created_at, -id),
and the whole list gets (-created_at, -id), which also serves every created_at range the old
(created_at) index did.

Built CONCURRENTLY on PostgreSQL, so the table keeps taking writes meanwhile (agepar/db_indexes.py);
the new indexes come first, so every list has an index at every step.
"""

from django.db import migrations, models

from agepar.db_indexes import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("submissions", "0002_actor_nome_prefix_index")]

    operations = [
        AddIndexConcurrently("submission", models.Index(fields=["-created_at", "-id"], name="submission_created_id")),
        AddIndexConcurrently(
            "submission", models.Index(fields=["actor", "-created_at", "-id"], name="submission_actor_created")),
        AddIndexConcurrently(
            "submission", models.Index(fields=["kind", "-created_at", "-id"], name="submission_kind_created")),
        AddIndexConcurrently(
            "submission", models.Index(fields=["status", "-created_at", "-id"], name="submission_status_created")),
        RemoveIndexConcurrently("submission", "submission_actor_id"),
        RemoveIndexConcurrently("submission", "submission_kind_id"),
        RemoveIndexConcurrently("submission", "submission_status_id"),
        RemoveIndexConcurrently("submission", "submission_created_at"),
    ]
