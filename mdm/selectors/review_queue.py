"""Reads for the steward review queue: the filtered task list, its counts
and neighbours, a task's two sides, bulk-approval candidates, and the
choices a merge offers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet

from mdm.id_card import SCALAR_ATTRIBUTES
from mdm.models import (
    CrossReference,
    GoldenRecord,
    ReviewTask,
    SourceRecord,
)
from mdm.services.survivorship import candidate_values


@dataclass(frozen=True)
class QueueFilters:
    status: str = ReviewTask.Status.OPEN
    score_min: float | None = None
    score_max: float | None = None  # exclusive
    system: str = ""
    age: str = ""  # one of AGE_RANGES
    assignee: str = ""  # "", "me", "none" or a username
    uscc_conflict: bool | None = None
    sort: str = "-score"  # one of QUEUE_SORTS


QUEUE_SORTS: dict[str, tuple[str, ...]] = {
    "-score": ("-score", "pk"),
    "score": ("score", "pk"),
    "oldest": ("created_at", "pk"),
    "newest": ("-created_at", "-pk"),
}
# Age of a task in days: (at least, less than).
AGE_RANGES: dict[str, tuple[int | None, int | None]] = {
    "lt1": (None, 1),
    "1to7": (1, 7),
    "gt7": (7, None),
    "gt30": (30, None),
}
SCORE_BANDS: tuple[tuple[str, float | None, float | None], ...] = (
    ("0.9–1.0", 0.9, None),
    ("0.8–0.9", 0.8, 0.9),
    ("0.7–0.8", 0.7, 0.8),
    ("0.6–0.7", 0.6, 0.7),
    ("< 0.6", None, 0.6),
)
# How far into the filtered queue j / k and "next task" look.
NEIGHBOUR_WINDOW = 5000


def review_task_list(
    *, filters: QueueFilters, user: AbstractBaseUser, now: datetime
) -> QuerySet[ReviewTask]:
    """The review tasks a steward asked to see, in the order asked for."""
    tasks = ReviewTask.objects.select_related(
        "left__source_system", "right__source_system", "assignee"
    ).filter(status=filters.status)
    if filters.score_min is not None:
        tasks = tasks.filter(score__gte=filters.score_min)
    if filters.score_max is not None:
        tasks = tasks.filter(score__lt=filters.score_max)
    if filters.system:
        tasks = tasks.filter(
            Q(left__source_system__code=filters.system)
            | Q(right__source_system__code=filters.system)
        )
    if filters.age in AGE_RANGES:
        at_least, less_than = AGE_RANGES[filters.age]
        if at_least is not None:
            tasks = tasks.filter(created_at__lte=now - timedelta(days=at_least))
        if less_than is not None:
            tasks = tasks.filter(created_at__gt=now - timedelta(days=less_than))
    if filters.assignee == "me":
        tasks = tasks.filter(assignee=user)
    elif filters.assignee == "none":
        tasks = tasks.filter(assignee__isnull=True)
    elif filters.assignee:
        tasks = tasks.filter(assignee__username=filters.assignee)
    if filters.uscc_conflict is not None:
        tasks = tasks.filter(has_uscc_conflict=filters.uscc_conflict)
    return tasks.order_by(*QUEUE_SORTS.get(filters.sort, QUEUE_SORTS["-score"]))


@dataclass(frozen=True)
class QueueCounts:
    open: int
    mine: int
    unassigned: int
    uscc_conflicts: int
    deferred: int
    skipped: int
    bands: list[tuple[str, int]]


def review_queue_counts(*, user: AbstractBaseUser) -> QueueCounts:
    """Counts for the queue's header, over all tasks (not the filtered ones)."""
    is_open = Q(status=ReviewTask.Status.OPEN)
    bands = {
        f"band{index}": Count("id", filter=is_open & _score_band_q(low, high))
        for index, (_, low, high) in enumerate(SCORE_BANDS)
    }
    row = ReviewTask.objects.aggregate(
        open=Count("id", filter=is_open),
        mine=Count("id", filter=is_open & Q(assignee=user)),
        unassigned=Count("id", filter=is_open & Q(assignee__isnull=True)),
        uscc_conflicts=Count("id", filter=is_open & Q(has_uscc_conflict=True)),
        deferred=Count("id", filter=Q(status=ReviewTask.Status.DEFERRED)),
        skipped=Count("id", filter=Q(status=ReviewTask.Status.SKIPPED)),
        **bands,
    )
    return QueueCounts(
        open=row["open"],
        mine=row["mine"],
        unassigned=row["unassigned"],
        uscc_conflicts=row["uscc_conflicts"],
        deferred=row["deferred"],
        skipped=row["skipped"],
        bands=[
            (label, row[f"band{index}"])
            for index, (label, _, _) in enumerate(SCORE_BANDS)
        ],
    )


def _score_band_q(low: float | None, high: float | None) -> Q:
    q = Q()
    if low is not None:
        q &= Q(score__gte=low)
    if high is not None:
        q &= Q(score__lt=high)
    return q


def review_task_neighbours(
    *, task: ReviewTask, filters: QueueFilters, user: AbstractBaseUser, now: datetime
) -> tuple[int | None, int | None]:
    """The tasks before and after `task` in the filtered queue (j / k); when
    `task` has left the queue (decided), the next is the first one left."""
    ids = list(
        review_task_list(filters=filters, user=user, now=now).values_list(
            "pk", flat=True
        )[:NEIGHBOUR_WINDOW]
    )
    if task.pk not in ids:
        return None, next(iter(ids), None)
    index = ids.index(task.pk)
    before = ids[index - 1] if index > 0 else None
    after = ids[index + 1] if index + 1 < len(ids) else None
    return before, after


@dataclass(frozen=True)
class TaskSide:
    """One source record of a review task, with its golden record."""

    record: SourceRecord
    golden: GoldenRecord
    members: list[SourceRecord]


def review_task_get(pk: int) -> ReviewTask:
    return ReviewTask.objects.select_related(
        "left__source_system", "right__source_system", "assignee"
    ).get(pk=pk)


def review_task_sides(task: ReviewTask) -> tuple[TaskSide, TaskSide]:
    """Both records of `task` with their golden records and those members."""
    goldens = dict(
        CrossReference.objects.filter(
            source_record_id__in=[task.left_id, task.right_id]
        ).values_list("source_record_id", "golden_id")
    )
    records = {
        g.pk: g for g in GoldenRecord.objects.filter(pk__in=set(goldens.values()))
    }
    members: dict[int, list[SourceRecord]] = defaultdict(list)
    for member in (
        SourceRecord.objects.select_related("source_system", "xref")
        .filter(xref__golden_id__in=records)
        .order_by("source_system__code", "source_id")
    ):
        members[member.xref.golden_id].append(member)
    return tuple(  # type: ignore[return-value]
        TaskSide(
            record=record,
            golden=records[goldens[record.pk]],
            members=members[goldens[record.pk]],
        )
        for record in (task.left, task.right)
    )


@dataclass(frozen=True)
class BulkCandidate:
    task: ReviewTask
    versions: dict[str, int]  # golden ID -> version, as listed to the steward


def review_task_bulk_candidates(
    *,
    filters: QueueFilters,
    min_score: float,
    user: AbstractBaseUser,
    now: datetime,
) -> list[BulkCandidate]:
    """Open tasks of the filtered queue a bulk approval may merge: at or above
    `min_score`, no USCC conflict, not claimed by someone else."""
    tasks = review_task_list(
        filters=replace(filters, status=ReviewTask.Status.OPEN), user=user, now=now
    ).filter(score__gte=min_score, has_uscc_conflict=False)
    if not user.is_superuser:
        tasks = tasks.filter(Q(assignee__isnull=True) | Q(assignee=user))
    tasks = list(tasks)
    golden_of = dict(
        CrossReference.objects.filter(
            source_record_id__in={t.left_id for t in tasks}
            | {t.right_id for t in tasks}
        ).values_list("source_record_id", "golden_id")
    )
    goldens = GoldenRecord.objects.in_bulk(set(golden_of.values()))
    candidates = []
    for task in tasks:
        left = goldens[golden_of[task.left_id]]
        right = goldens[golden_of[task.right_id]]
        if left.pk != right.pk:
            candidates.append(
                BulkCandidate(
                    task=task,
                    versions={
                        left.golden_id: left.version,
                        right.golden_id: right.version,
                    },
                )
            )
    return candidates


def review_task_default_keep(left: TaskSide, right: TaskSide) -> str:
    """Which golden record survives a merge unless the steward says otherwise:
    the one with more members, else the older one."""
    left_key = (len(left.members), -left.golden.pk)
    right_key = (len(right.members), -right.golden.pk)
    return "left" if left_key >= right_key else "right"


def review_task_merge_candidates(
    left: TaskSide, right: TaskSide
) -> dict[str, dict[str, list[str]]]:
    """The values a steward may choose for each scalar attribute of a merge,
    each with the source records that hold it: every member's value, and both
    golden records' current ones (a value pinned earlier may be in no member)."""
    members = [*left.members, *right.members]
    candidates = {}
    for attribute in SCALAR_ATTRIBUTES:
        offers = {
            value: [member.key for member in holders]
            for value, holders in candidate_values(members, attribute).items()
        }
        for golden in (left.golden, right.golden):
            if getattr(golden, attribute):
                offers.setdefault(getattr(golden, attribute), [])
        candidates[attribute] = offers
    return candidates
