"""The steward review queue: opening tasks for pairs in the review band."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from mdm.models import ReviewTask, SourceRecord
from mdm.services import bulk_sql

Pair = tuple[SourceRecord, SourceRecord, float, Sequence[dict[str, Any]]]


@transaction.atomic
def review_task_open(
    *,
    a: SourceRecord,
    b: SourceRecord,
    score: float,
    evidence: Sequence[dict[str, Any]],
) -> ReviewTask:
    """Open a task for the pair (a, b), or refresh the open one with the new score."""
    left, right = (a, b) if a.pk < b.pk else (b, a)
    task = (
        ReviewTask.objects.select_for_update()
        .filter(left=left, right=right, status=ReviewTask.Status.OPEN)
        .first()
    )
    if task is None:
        task = ReviewTask(left=left, right=right)
    _score(task, score, evidence)
    task.save()
    return task


@transaction.atomic
def review_tasks_open_many(pairs: Sequence[Pair]) -> list[ReviewTask]:
    """`review_task_open` for many (a, b, score, evidence) at once, pairs
    distinct: one read of the open tasks among them, one INSERT of the new
    tasks, one UPDATE statement for those refreshed, and their history rows
    (one date for all)."""
    if not connection.features.can_return_rows_from_bulk_insert:
        # SQLite before 3.35 gives no keys back from a bulk INSERT.
        return [
            review_task_open(a=a, b=b, score=score, evidence=evidence)
            for a, b, score, evidence in pairs
        ]
    ordered = [
        ((a, b) if a.pk < b.pk else (b, a), score, evidence)
        for a, b, score, evidence in pairs
    ]
    keys = {(left.pk, right.pk) for (left, right), _score, _ev in ordered}
    open_tasks = {
        (task.left_id, task.right_id): task
        for task in ReviewTask.objects.select_for_update().filter(
            status=ReviewTask.Status.OPEN, left_id__in={left for left, _ in keys}
        )
        if (task.left_id, task.right_id) in keys
    }
    new, refreshed = [], []
    for (left, right), score, evidence in ordered:
        task = open_tasks.get((left.pk, right.pk))
        if task is None:
            task = ReviewTask(left=left, right=right)
            new.append(task)
        else:
            refreshed.append(task)
        _score(task, score, evidence)
    now = timezone.now()
    ReviewTask.objects.bulk_create(new)
    ReviewTask.history.bulk_history_create(new, default_date=now)
    if refreshed:
        bulk_sql.update_rows(
            ReviewTask,
            [
                {"id": t.pk, "score": t.score, "evidence": t.evidence,
                 "has_uscc_conflict": t.has_uscc_conflict}
                for t in refreshed
            ],
            ["score", "evidence", "has_uscc_conflict"],
        )  # fmt: skip
        ReviewTask.history.bulk_history_create(refreshed, update=True, default_date=now)
    return [*new, *refreshed]


def _score(task: ReviewTask, score: float, evidence: Sequence[dict[str, Any]]) -> None:
    left, right = task.left, task.right
    task.score = score
    task.evidence = list(evidence)
    task.has_uscc_conflict = bool(
        left.uscc_valid and right.uscc_valid and left.uscc != right.uscc
    )
    task._change_reason = f"score {score:.3f}"
