"""B-tree indexes on the Latin name keys for the search's brand-prefix pass
(`mdm.selectors.names`), on PostgreSQL: `LIKE 'brand%'` reads a few hundred
index entries where the brand's trigrams read tens of thousands.

Not atomic: built CONCURRENTLY, so a large source-record table stays
writable while they build.
"""

from django.db import migrations

PREFIX_KEYS = ("name_latin_key", "english_latin_key")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for key in PREFIX_KEYS:
            cursor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS mdm_source_prefix_{key} "
                f"ON mdm_sourcerecord ((standardised ->> '{key}') text_pattern_ops)"
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for key in PREFIX_KEYS:
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS mdm_source_prefix_{key}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("mdm", "0015_sync_conflicts")]

    operations = [migrations.RunPython(create, drop)]
