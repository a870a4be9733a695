"""RELIABILITY C1: stewards acting on the same cluster at the same moment,
each on their own database connection, on SQLite and PostgreSQL. Exactly one
wins per version; the others get ConflictError ("already decided"); nothing
is lost and every golden record's history is a gap-free sequence of
versions. (SQLite lets one writer in at a time and the others wait for it;
PostgreSQL lets them meet at the rows' locks.)"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from django.db import connection, connections, transaction

from mdm.models import CrossReference, GoldenRecord, ReviewTask, SourceRecord
from mdm.services.errors import ConflictError
from mdm.services.golden_records import golden_record_create, golden_record_pin_set
from mdm.services.review_queue import review_task_open
from mdm.services.steward_queue import review_task_merge, review_task_not_a_match
from tests.mdm.ui.helpers import golden_of, make_record, make_steward, versions_of

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
needs_row_locks = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite has no row locks to hold: a writer waits for the whole file",
)

ROUNDS = 200


def race(actions: list[Callable[[], object]]) -> Counter:
    """Run the actions at the same instant, one thread (and one database
    connection) each; count the outcomes."""
    start = threading.Barrier(len(actions))

    def run(action: Callable[[], object]) -> str:
        try:
            start.wait()
            action()
            return "won"
        except ConflictError:
            return "conflict"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(actions)) as pool:
        return Counter(pool.map(run, actions))


def assert_history_gap_free(golden: GoldenRecord) -> None:
    versions = sorted(golden.history.values_list("version", flat=True).distinct())
    assert versions == list(range(1, golden.version + 1))


def stewards(count: int) -> list:
    return [make_steward(f"steward{i}") for i in range(count)]


def make_pair(round_no: int) -> ReviewTask:
    a = make_record(FNumber=f"A{round_no}", FName="北京华盛科技有限公司")
    b = make_record(FNumber=f"B{round_no}", FName="华盛科技(北京)有限公司")
    golden_record_create(members=[a])
    golden_record_create(members=[b])
    return review_task_open(a=a, b=b, score=0.8, evidence=[])


@pytest.mark.parametrize("crowd", [2, 10])
def test_exactly_one_steward_decides_a_task(crowd):
    team = stewards(crowd)
    for round_no in range(ROUNDS):
        task = make_pair(round_no)
        versions = versions_of(task)

        merge = partial(review_task_merge, task=task, reason="", overrides={})
        reject = partial(review_task_not_a_match, task=task, reason="")
        # Half merge (keeping either side), half say "not a match".
        actions = [
            partial(merge, steward=s, keep="left" if i % 4 == 0 else "right")
            if i % 2 == 0
            else partial(reject, steward=s)
            for i, s in enumerate(team)
        ]
        actions = [partial(action, versions=versions) for action in actions]
        outcome = race(actions)
        assert outcome == Counter(won=1, conflict=crowd - 1), round_no

        task.refresh_from_db()
        assert task.status in (ReviewTask.Status.MERGED, ReviewTask.Status.NOT_A_MATCH)
        assert task.history.filter(history_type="~").count() == 1
        left, right = golden_of(task.left), golden_of(task.right)
        if task.status == ReviewTask.Status.MERGED:
            assert left.pk == right.pk and left.version == 2
        else:
            assert left.pk != right.pk and left.version == right.version == 1
        for golden in GoldenRecord.objects.filter(golden_id__in=versions):
            assert_history_gap_free(golden)
    # No source record lost or left without exactly one golden record.
    assert CrossReference.objects.count() == SourceRecord.objects.count()


def test_edits_of_one_golden_record_at_one_version_let_exactly_one_through():
    team = stewards(10)
    golden = golden_record_create(members=[make_record(FName="北京华盛科技有限公司")])
    for round_no in range(ROUNDS // 5):
        golden.refresh_from_db()
        seen = golden.version
        outcome = race(
            [
                partial(
                    golden_record_pin_set,
                    golden=golden,
                    attribute="legal_name",
                    value=f"华盛科技 {round_no}/{s.username}",
                    steward=s,
                    expected_version=seen,
                )
                for s in team
            ]
        )
        assert outcome == Counter(won=1, conflict=9), round_no
        golden.refresh_from_db()
        assert golden.version == seen + 1
    assert_history_gap_free(golden)


def test_overlapping_tasks_of_one_cluster_never_deadlock_or_lose_a_member():
    """Three records, three tasks (every pair), ten stewards at once: each
    task is decided once; the merges that win leave one consistent cluster."""
    team = stewards(10)
    for round_no in range(ROUNDS // 5):
        records = [
            make_record(FNumber=f"C{round_no}-{i}", FName="北京华盛科技有限公司")
            for i in range(3)
        ]
        for record in records:
            golden_record_create(members=[record])
        tasks = [
            review_task_open(a=a, b=b, score=0.8, evidence=[])
            for a, b in [(0, 1), (1, 2), (0, 2)]
            for a, b in [(records[a], records[b])]
        ]
        snapshot = {task.pk: versions_of(task) for task in tasks}
        actions = [
            partial(
                review_task_merge,
                task=tasks[i % 3],
                steward=s,
                reason="",
                keep="left",
                overrides={},
                versions=snapshot[tasks[i % 3].pk],
            )
            for i, s in enumerate(team)
        ]
        outcome = race(actions)
        assert outcome["won"] >= 1, round_no
        assert outcome["won"] + outcome["conflict"] == len(team)
        goldens = {golden_of(record).pk for record in records}
        merged = ReviewTask.objects.filter(
            pk__in=snapshot, status=ReviewTask.Status.MERGED
        ).count()
        # Each winning merge joined two clusters: 3 records - merges = clusters.
        assert len(goldens) == 3 - merged
        for golden in GoldenRecord.objects.filter(
            xrefs__source_record__in=records
        ).distinct():
            assert_history_gap_free(golden)


def held_by_another_steward(golden: GoldenRecord, released: threading.Event):
    """A thread whose transaction holds `golden`'s row lock until `released`
    is set; returns it once the lock is taken."""
    locked = threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                GoldenRecord.objects.select_for_update().get(pk=golden.pk)
                locked.set()
                released.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    return holder


@needs_row_locks
@pytest.mark.parametrize("call", ["approve", "edit"])
def test_an_out_of_date_page_is_refused_without_waiting_for_the_records(call):
    """C8: a page whose golden records changed since it was shown gets its
    409 at once, not after queueing behind the steward holding them."""
    task = make_pair(0)
    stale = versions_of(task)
    left = golden_of(task.left)
    golden_record_pin_set(
        golden=left,
        attribute="legal_name",
        value="华盛科技",
        steward=make_steward("first"),
        expected_version=stale[left.golden_id],
    )
    released = threading.Event()
    holder = held_by_another_steward(left, released)
    try:
        with connection.cursor() as cursor:
            # without the check before the lock, this call would wait for it
            cursor.execute("SET lock_timeout = '3s'")
        with pytest.raises(ConflictError):
            if call == "approve":
                review_task_merge(
                    task=task,
                    steward=make_steward("late"),
                    reason="",
                    keep="left",
                    overrides={},
                    versions=stale,
                )
            else:
                golden_record_pin_set(
                    golden=left,
                    attribute="legal_name",
                    value="华盛",
                    steward=make_steward("late"),
                    expected_version=stale[left.golden_id],
                )
        assert holder.is_alive()  # answered while the records were held
    finally:
        released.set()
        holder.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
