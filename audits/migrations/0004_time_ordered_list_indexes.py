"""The trail newest first by (at, id): the (column, -id) indexes become (column, -at, -id), and the
whole trail gets (-at, -id), which also serves every `at` range the old (at) index did
(prune_audits, the admin's period filter).

Built CONCURRENTLY on PostgreSQL, so audit events keep being written meanwhile
(agepar/db_indexes.py); the new indexes come first, so every list has an index at every step.
Only indexes change: SQLite keeps the table, and with it the append-only triggers (0003).
"""

from django.db import migrations, models

from agepar.db_indexes import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("audits", "0003_append_only")]

    operations = [
        AddIndexConcurrently("auditevent", models.Index(fields=["-at", "-id"], name="audit_at_id")),
        AddIndexConcurrently("auditevent", models.Index(fields=["action", "-at", "-id"], name="audit_action_at")),
        AddIndexConcurrently("auditevent", models.Index(fields=["kind", "-at", "-id"], name="audit_kind_at")),
        AddIndexConcurrently("auditevent", models.Index(fields=["actor", "-at", "-id"], name="audit_actor_at")),
        AddIndexConcurrently("auditevent", models.Index(fields=["status", "-at", "-id"], name="audit_status_at")),
        AddIndexConcurrently(
            "auditevent", models.Index(fields=["target_id", "target_type", "-at", "-id"], name="audit_target_at")),
        RemoveIndexConcurrently("auditevent", "audit_action_id"),
        RemoveIndexConcurrently("auditevent", "audit_kind_id"),
        RemoveIndexConcurrently("auditevent", "audit_actor_id"),
        RemoveIndexConcurrently("auditevent", "audit_status_id"),
        RemoveIndexConcurrently("auditevent", "audit_target"),
        RemoveIndexConcurrently("auditevent", "audit_at"),
    ]
