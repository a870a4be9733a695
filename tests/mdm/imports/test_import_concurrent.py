"""RELIABILITY C6, the concurrent half: the same 10,000-row file imported
twice at the same moment, each import on its own database connection (SQLite
and PostgreSQL), still leaves exactly 10,000 source records, one creation
history row each, and no row rejected. (The sequential half, re-imports and
edits, is in test_import_bulk.py.)"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from mdm.models import ImportJob, SourceRecord
from tests.mdm.imports.test_import_bulk import counts, csv, row, run

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROWS = 10_000


def test_the_same_file_imported_twice_at_once_creates_each_record_once():
    content = csv([row(i) for i in range(ROWS)])
    start = threading.Barrier(2)

    def import_once(_: int) -> ImportJob:
        try:
            start.wait()
            return run(content)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        jobs = list(pool.map(import_once, range(2)))

    assert SourceRecord.objects.count() == ROWS
    assert SourceRecord.history.filter(history_type="+").count() == ROWS
    created = [counts(job)[0] for job in jobs]
    assert sum(created) == ROWS, [counts(job) for job in jobs]
    for job in jobs:
        assert job.status == ImportJob.Status.DONE
        created_count, updated, unchanged, failed = counts(job)
        assert (updated, failed) == (0, 0)
        assert created_count + unchanged == ROWS
    # A third run, alone, finds every row as it left it.
    assert counts(run(content)) == (0, 0, ROWS, 0)
