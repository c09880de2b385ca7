"""Create the database cache table as part of `migrate`, so no extra setup step exists to forget.

`createcachetable` only touches database caches and is idempotent, so this is a no-op with Redis.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = []
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=False)]
