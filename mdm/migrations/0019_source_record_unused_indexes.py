"""Drop indexes nothing reads that cost an import ~10 µs a row each: the
source record's name, and the name, tax ID and source system of its history
rows (read by record and date only).

The indexes are dropped by name, found by introspection (PostgreSQL also has
a `_like` twin for the varchar columns): altering the fields as Django does
would rebuild the history table on SQLite, once per field.
"""

import copy

import django.db.models.deletion
from django.db import migrations, models

# (model, column): the single-column indexes to drop.
_DROPPED = [
    ("sourcerecord", "name"),
    ("historicalsourcerecord", "name"),
    ("historicalsourcerecord", "uscc"),
    ("historicalsourcerecord", "source_system_id"),
]


def drop_indexes(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for model_name, column in _DROPPED:
            table = apps.get_model("mdm", model_name)._meta.db_table
            constraints = connection.introspection.get_constraints(cursor, table)
            for name, info in constraints.items():
                if (
                    info["index"]
                    and info["columns"] == [column]
                    and not (info["unique"] or info["primary_key"])
                ):
                    schema_editor.execute(
                        f"DROP INDEX {schema_editor.quote_name(name)}"
                    )


def create_indexes(apps, schema_editor):
    for model_name, column in _DROPPED:
        model = apps.get_model("mdm", model_name)
        field = next(f for f in model._meta.local_fields if f.column == column)
        for sql in schema_editor._field_indexes_sql(model, _indexed(field)):
            schema_editor.execute(sql)


def _indexed(field):
    indexed = copy.copy(field)
    indexed.db_index = True
    return indexed


class Migration(migrations.Migration):
    dependencies = [("mdm", "0018_import_job_matching")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(drop_indexes, create_indexes, elidable=False)
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="historicalsourcerecord",
                    name="name",
                    field=models.CharField(
                        blank=True, max_length=300, verbose_name="name"
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalsourcerecord",
                    name="source_system",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="mdm.sourcesystem",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalsourcerecord",
                    name="uscc",
                    field=models.CharField(
                        blank=True, max_length=32, verbose_name="USCC / tax ID"
                    ),
                ),
                migrations.AlterField(
                    model_name="sourcerecord",
                    name="name",
                    field=models.CharField(
                        blank=True, max_length=300, verbose_name="name"
                    ),
                ),
            ],
        )
    ]
