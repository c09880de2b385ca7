"""Seals of the audit trail (docs/audit-seals.md), append-only like the trail itself.

UPDATE and DELETE of a seal are refused by the database; seals are never pruned. On SQLite a
DELETE passes only through the prune gate of migration 0003 (which `manage.py flush` opens to
empty the database); on PostgreSQL `flush` truncates, which row triggers do not see, and the
app role lacks UPDATE/DELETE/TRUNCATE here too (deploy/postgres/append-only.sql).
"""

import django.db.models.functions.datetime
from django.db import migrations, models

SQLITE_FORWARD = [
    """CREATE TRIGGER audits_auditseal_no_update BEFORE UPDATE ON audits_auditseal
       BEGIN SELECT RAISE(ABORT, 'audits_auditseal is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audits_auditseal_no_delete BEFORE DELETE ON audits_auditseal
       WHEN NOT EXISTS (SELECT 1 FROM audits_prune_gate)
       BEGIN SELECT RAISE(ABORT, 'audits_auditseal is append-only: DELETE refused'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS audits_auditseal_no_delete",
    "DROP TRIGGER IF EXISTS audits_auditseal_no_update",
]
POSTGRES_FORWARD = [
    """CREATE OR REPLACE FUNCTION audits_auditseal_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           RAISE EXCEPTION 'audits_auditseal is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
       END
       $$""",
    """CREATE TRIGGER audits_auditseal_append_only BEFORE UPDATE OR DELETE ON audits_auditseal
       FOR EACH ROW EXECUTE FUNCTION audits_auditseal_append_only()""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS audits_auditseal_append_only ON audits_auditseal",
    "DROP FUNCTION IF EXISTS audits_auditseal_append_only()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor[schema_editor.connection.vendor]:
            schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('audits', '0004_time_ordered_list_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditSeal',
            fields=[
                ('number', models.PositiveBigIntegerField(primary_key=True, serialize=False, verbose_name='selo')),
                ('version', models.PositiveSmallIntegerField(verbose_name='versão da codificação')),
                ('first_id', models.BigIntegerField(verbose_name='primeiro evento')),
                ('last_id', models.BigIntegerField(verbose_name='último evento')),
                ('count', models.PositiveIntegerField(verbose_name='eventos')),
                ('last_at', models.DateTimeField(verbose_name='evento mais recente')),
                ('root', models.CharField(max_length=64, verbose_name='raiz Merkle')),
                ('prev', models.CharField(max_length=64, verbose_name='selo anterior (hash)')),
                ('hash', models.CharField(max_length=64, unique=True, verbose_name='hash do selo')),
                ('event_id', models.BigIntegerField(verbose_name='evento audit.sealed')),
                ('sealed_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), verbose_name='selado em')),
            ],
            options={
                'verbose_name': 'selo da trilha de auditoria',
                'verbose_name_plural': 'selos da trilha de auditoria',
                'constraints': [models.CheckConstraint(condition=models.Q(('count__gte', 1), ('first_id__lte', models.F('last_id'))), name='audits_auditseal_range_valid')],
            },
        ),
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
            elidable=False,
        ),
    ]
