"""The lookup and search API: the database cache table (shared rate-limit
counters) and, on PostgreSQL, the indexes behind fuzzy name search (pg_trgm)
and phone / e-mail search (jsonb containment).

Not atomic: on PostgreSQL the indexes are built CONCURRENTLY, so a large
source-record table stays writable while they build.
"""

from django.core.management import call_command
from django.db import migrations

TRIGRAM_KEYS = ("name_core", "name_pinyin", "name_latin_key", "english_latin_key")
JSON_LISTS = ("phones", "emails")


def _indexes():
    for key in TRIGRAM_KEYS:
        yield (
            f"mdm_source_trgm_{key}",
            f"USING gin ((standardised ->> '{key}') gin_trgm_ops)",
        )
    for key in JSON_LISTS:
        yield (
            f"mdm_source_json_{key}",
            f"USING gin ((standardised -> '{key}') jsonb_path_ops)",
        )


def create(apps, schema_editor):
    # Only the cache tables that settings.CACHES names (none with Redis).
    call_command(
        "createcachetable", database=schema_editor.connection.alias, verbosity=0
    )
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, definition in _indexes():
            cursor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} "
                f"ON mdm_sourcerecord {definition}"
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name, _ in _indexes():
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("mdm", "0010_outbox_delivery")]

    operations = [migrations.RunPython(create, drop)]
