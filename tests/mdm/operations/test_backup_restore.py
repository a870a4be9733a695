"""The backup/restore drill (issue #8): dump, wipe, restore, and every golden
ID, cross-reference, decision and history row is back."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from mdm.models import GoldenRecord, StewardDecision
from mdm.services.steward_queue import review_task_merge, review_task_not_a_match
from mdm.services.unmerge import golden_record_unmerge
from tests.mdm.ui.helpers import make_steward, make_task, versions_of

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def everything() -> dict[str, list[tuple]]:
    """Every row of every table of the core app, history tables included."""
    return {
        model._meta.db_table: list(model.objects.order_by("pk").values_list())
        for model in apps.get_app_config("mdm").get_models()
    }


def wipe() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            for table in connection.introspection.table_names(cursor):
                cursor.execute(f'DROP TABLE "{table}"')


def test_a_backup_brings_back_every_row_after_the_database_is_wiped(tmp_path):
    steward = make_steward()
    merged, rejected = make_task(), make_task()
    survivor = review_task_merge(
        task=merged,
        steward=steward,
        reason="same phone",
        keep="left",
        overrides={"legal_name": "北京华盛科技有限公司"},
        versions=versions_of(merged),
    )
    review_task_not_a_match(
        task=rejected, steward=steward, reason="", versions=versions_of(rejected)
    )
    before = everything()
    assert sum(len(rows) for rows in before.values()) > 30
    assert before[GoldenRecord._meta.db_table]

    backup = tmp_path / "golden-record.backup"
    call_command("backup_database", out=backup)
    wipe()
    assert "mdm_goldenrecord" not in connection.introspection.table_names()
    call_command("restore_database", backup, yes=True)

    assert everything() == before
    # And the restored database works: the merge can still be undone.
    survivor.refresh_from_db()
    merge = StewardDecision.objects.get(kind=StewardDecision.Kind.MERGE)
    golden_record_unmerge(
        decision=merge,
        steward=steward,
        reason="drill",
        expected_version=survivor.version,
    )
    assert GoldenRecord.objects.filter(status=GoldenRecord.Status.ACTIVE).count() == 4
