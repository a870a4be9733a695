"""One lock order for every steward service (RELIABILITY C8): golden records
by ascending id, then review tasks. Checked on the statements PostgreSQL is
sent (SQLite has no row locks: Django drops FOR UPDATE there)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mdm.models import ReviewTask
from mdm.services.steward_queue import BulkItem, review_tasks_bulk_approve
from tests.mdm.ui.helpers import golden_of, make_steward, make_task, versions_of

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL"
    ),
]


IN_ID_ORDER = re.compile(r'ORDER BY (1|"mdm_goldenrecord"\."id") ASC')


def locking_statements(queries) -> list[str]:
    return [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]


def test_bulk_approval_locks_every_golden_record_in_id_order_before_any_task():
    steward = make_steward()
    # Scores put the tasks' golden records out of id order: the merges run
    # highest score first.
    tasks = [make_task(score=score) for score in (0.96, 0.99, 0.97)]
    goldens = {golden_of(r).pk for t in tasks for r in (t.left, t.right)}
    with CaptureQueriesContext(connection) as queries:
        outcome = review_tasks_bulk_approve(
            items=[BulkItem(t.pk, versions_of(t)) for t in tasks],
            min_score=0.95,
            steward=steward,
            reason="bulk",
        )
    assert sorted(outcome.merged) == sorted(t.pk for t in tasks)
    locks = locking_statements(queries.captured_queries)
    # First, before any merge: the golden records of every listed task.
    assert 'FROM "mdm_goldenrecord"' in locks[0] and IN_ID_ORDER.search(locks[0])
    records = re.search(r'"source_record_id" IN \(([\d, ]+)\)', locks[0])
    assert {int(i) for i in records.group(1).split(",")} == {
        pk for t in tasks for pk in (t.left_id, t.right_id)
    }
    # Each merge then locks (again) only golden records already held.
    for sql in locks[1:]:
        if sql.startswith('SELECT "mdm_goldenrecord"'):
            ids = re.search(r'"mdm_goldenrecord"\."id" IN \(([\d, ]+)\)', sql)
            assert {int(i) for i in ids.group(1).split(",")} <= goldens
    assert set(ReviewTask.objects.values_list("status", flat=True)) == {"merged"}
