"""PostgreSQL only: the admin's case-insensitive prefix search on the author's name.

Django compiles `actor_nome__istartswith` to `UPPER("actor_nome"::text) LIKE UPPER('ana%')`;
this expression index (text_pattern_ops, so LIKE works whatever the collation) matches it.
SQLite has no such operator class and its tables stay small; the step is skipped there.
"""

from django.db import migrations

INDEX = "submission_actor_nome_upper"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {INDEX} ON submissions_submission (UPPER(actor_nome::text) text_pattern_ops)'
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("submissions", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
