"""The steward review queue: opening tasks for pairs in the review band."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from mdm.models import ReviewTask, SourceRecord


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
    task.score = score
    task.evidence = list(evidence)
    task.has_uscc_conflict = bool(
        left.uscc_valid and right.uscc_valid and left.uscc != right.uscc
    )
    task._change_reason = f"score {score:.3f}"
    task.save()
    return task
