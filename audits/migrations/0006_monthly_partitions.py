"""The audit trail partitioned by month on PostgreSQL (audits/partitions.py, docs/scaling.md).

The rows are copied into the partitioned table in batches of 50,000 ids, each its own short
transaction, then the two tables are swapped in one transaction; ids, values, indexes, the
append-only trigger and the id sequence carry over. Not atomic, so that an interrupted run keeps
what it copied: `migrate` again goes on from the highest id copied. On a large trail run it in a
quiet hour (inserts wait for each batch, about a second at most, and for the swap).

SQLite keeps the one table (nothing to do). Going back leaves the partitioned table in place: the
model is the same either way.
"""

from django.db import migrations
from django.utils import timezone


def partition(apps, schema_editor):
    from audits import partitions

    connection = schema_editor.connection
    if connection.vendor != "postgresql" or partitions.is_partitioned(connection):
        return
    partitions.convert(connection, now=timezone.now())


class Migration(migrations.Migration):
    atomic = False  # one transaction per copied batch: resumable

    dependencies = [("audits", "0005_auditseal")]

    operations = [migrations.RunPython(partition, migrations.RunPython.noop, elidable=False)]
