"""The audit log, erasure records, and the database guards.

Triggers (RELIABILITY C4, W7):
- mdm_sourcerecord and mdm_crossreference refuse DELETE: source records and
  their links are never physically removed;
- mdm_auditevent refuses UPDATE and DELETE: the audit log is append-only.

PostgreSQL: row triggers; Django's flush empties tables with TRUNCATE,
which fires none, so test teardown and `manage.py flush` still work.
SQLite: the same triggers with `WHEN NOT mdm_delete_allowed()`, a function
the project's SQLite backend (mdm/sqlite/base.py) registers and sets only
while it runs a flush. SQLite drops a table's triggers when a migration
rebuilds the table, so mdm.db_guards re-creates them after every migrate.
"""

import django.utils.timezone
from django.db import migrations, models

GUARDS = [
    # (table, operations refused, why)
    ("mdm_sourcerecord", ("DELETE",), "source records are never deleted"),
    ("mdm_crossreference", ("DELETE",), "cross-references are never deleted"),
    ("mdm_auditevent", ("UPDATE", "DELETE"), "the audit log is append-only"),
]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION mdm_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'restrict_violation';
END
$$;
"""


def _sqlite_trigger(table, operation, why):
    # UPDATE is never allowed, not even during a flush.
    when = "WHEN NOT mdm_delete_allowed() " if operation == "DELETE" else ""
    return (
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{operation.lower()} "
        f"BEFORE {operation} ON {table} {when}"
        f"BEGIN SELECT RAISE(ABORT, '{operation} on {table} refused: {why}'); END;"
    )


def install_guards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_FUNCTION)
            for table, operations, why in GUARDS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_guard ON {table}")
                cursor.execute(
                    f"CREATE TRIGGER {table}_guard "
                    f"BEFORE {' OR '.join(operations)} ON {table} FOR EACH ROW "
                    f"EXECUTE FUNCTION mdm_refuse_change('{why}')"
                )
        elif connection.vendor == "sqlite":
            for table, operations, why in GUARDS:
                for operation in operations:
                    cursor.execute(_sqlite_trigger(table, operation, why))


def remove_guards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for table, operations, _why in GUARDS:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_guard ON {table}")
            elif connection.vendor == "sqlite":
                for operation in operations:
                    name = f"{table}_no_{operation.lower()}"
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        if connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION IF EXISTS mdm_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("mdm", "0011_api_access")]

    operations = [
        migrations.CreateModel(
            name='ErasureRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('executed_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='executed at')),
                ('executed_by', models.CharField(max_length=150, verbose_name='executed by')),
                ('reason', models.TextField(verbose_name='reason')),
                ('subject_hashes', models.JSONField(verbose_name='keyed hashes of the identifiers')),
                ('golden_ids', models.JSONField(default=list, verbose_name='golden records')),
                ('source_keys', models.JSONField(default=list, verbose_name='source records')),
                ('counts', models.JSONField(default=dict, verbose_name='rows scrubbed per table')),
            ],
            options={
                'verbose_name': 'erasure',
                'verbose_name_plural': 'erasures',
                'ordering': ['-executed_at'],
            },
        ),
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('occurred_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='when')),
                ('actor_kind', models.CharField(choices=[('user', 'user'), ('api_client', 'API client'), ('system', 'system'), ('anonymous', 'anonymous')], max_length=16, verbose_name='actor kind')),
                ('actor', models.CharField(db_index=True, max_length=150, verbose_name='actor')),
                ('action', models.CharField(choices=[('auth.login', 'login'), ('auth.logout', 'logout'), ('auth.login_failed', 'failed login'), ('auth.lockout', 'account locked out'), ('access', 'request refused'), ('task.claim', 'claim task'), ('task.assign', 'assign task'), ('task.release', 'release task'), ('task.merge', 'merge'), ('task.not_a_match', 'not a match'), ('task.skip', 'skip task'), ('task.defer', 'defer task'), ('task.reopen', 'reopen task'), ('task.bulk_approve', 'bulk approve'), ('golden.split', 'split'), ('golden.split_undo', 'undo split'), ('golden.unmerge', 'unmerge'), ('golden.pin', 'edit value'), ('golden.unpin', 'clear edited value'), ('record.upsert', 'API: record upsert'), ('record.delete', 'API: record deleted in source'), ('record.batch', 'API: record batch'), ('token.issue', 'issue API token'), ('token.rotate', 'rotate API token'), ('token.revoke', 'revoke API token'), ('import.create', 'import uploaded'), ('import.confirm', 'import confirmed'), ('import.finish', 'import finished'), ('export', 'export'), ('pii.unmask', 'show full value'), ('pii.erasure', 'erase personal data')], max_length=32, verbose_name='action')),
                ('object_type', models.CharField(blank=True, max_length=32, verbose_name='object type')),
                ('object_ref', models.CharField(blank=True, max_length=255, verbose_name='object')),
                ('ip', models.GenericIPAddressField(blank=True, null=True, verbose_name='from')),
                ('outcome', models.CharField(choices=[('ok', 'ok'), ('denied', 'denied'), ('failed', 'failed')], max_length=8, verbose_name='outcome')),
                ('detail', models.CharField(blank=True, max_length=500, verbose_name='detail')),
            ],
            options={
                'verbose_name': 'audit event',
                'verbose_name_plural': 'audit log',
                'ordering': ['-occurred_at', '-id'],
                'indexes': [models.Index(fields=['occurred_at'], name='mdm_auditev_occurre_e35904_idx'), models.Index(fields=['action', 'occurred_at'], name='mdm_auditev_action_6c887d_idx'), models.Index(fields=['object_type', 'object_ref'], name='mdm_auditev_object__a2bef8_idx')],
            },
        ),
        migrations.RunPython(install_guards, remove_guards),
    ]
