"""Figures for the overview page and the steward dashboard."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, F, Q
from django.db.models.functions import Floor, TruncDate
from django.utils import timezone

from mdm.models import (
    CrossReference,
    GoldenRecord,
    ReviewTask,
    SourceSystem,
    StewardDecision,
)


@dataclass(frozen=True)
class SystemCount:
    code: str
    name: str
    records: int
    active: int


@dataclass(frozen=True)
class Overview:
    systems: list[SystemCount]
    source_records: int
    golden_active: int
    golden_merged: int
    decisions: int


def master_data_overview() -> Overview:
    """Counts for the overview page: records per system, golden records."""
    systems = [
        SystemCount(s.code, s.name, s.record_count, s.active_count)
        for s in SourceSystem.objects.annotate(
            record_count=Count("records"),
            active_count=Count("records", filter=Q(records__is_active=True)),
        ).order_by("code")
    ]
    golden = GoldenRecord.objects.values("status").annotate(n=Count("id"))
    by_status = {row["status"]: row["n"] for row in golden}
    return Overview(
        systems=systems,
        source_records=sum(s.records for s in systems),
        golden_active=by_status.get(GoldenRecord.Status.ACTIVE, 0),
        golden_merged=by_status.get(GoldenRecord.Status.MERGED, 0),
        decisions=StewardDecision.objects.count(),
    )


@dataclass(frozen=True)
class SystemDuplicates:
    code: str
    name: str
    records: int
    duplicates: int  # records sharing their golden record with one of their system


@dataclass(frozen=True)
class ScoreBin:
    low: float
    open: int
    decided: int
    auto: int


@dataclass(frozen=True)
class DashboardStats:
    queue_open: int
    queue_age: list[tuple[str, int]]  # (AGE_RANGES key, open tasks)
    oldest_open: datetime | None
    days: list[date]
    decisions: dict[str, dict[date, int]]  # steward -> day -> decisions
    outcomes: dict[str, int]  # auto_merge, review, new: source records
    duplicates: list[SystemDuplicates]
    scores: list[ScoreBin]
    parked: dict[str, int]  # skipped, deferred: tasks waiting to be reopened
    task_actions: list[StewardTaskActions]


@dataclass(frozen=True)
class StewardTaskActions:
    """How one steward closed review tasks over the dashboard's period."""

    steward: str
    merged: int
    not_a_match: int
    skipped: int
    deferred: int


SCORE_BIN_WIDTH = 0.05


def dashboard_stats(*, now: datetime, days: int = 14) -> DashboardStats:
    """Figures for the steward dashboard."""
    is_open = Q(status=ReviewTask.Status.OPEN)
    age = ReviewTask.objects.filter(is_open).aggregate(
        total=Count("id"),
        lt1=Count("id", filter=Q(created_at__gt=now - timedelta(days=1))),
        **{
            "1to7": Count(
                "id",
                filter=Q(created_at__lte=now - timedelta(days=1))
                & Q(created_at__gt=now - timedelta(days=7)),
            )
        },
        gt7=Count("id", filter=Q(created_at__lte=now - timedelta(days=7))),
    )
    oldest = (
        ReviewTask.objects.filter(is_open)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    day_list, per_steward = _decisions_per_day(now=now, days=days)
    return DashboardStats(
        queue_open=age["total"],
        queue_age=[(key, age[key]) for key in ("lt1", "1to7", "gt7")],
        oldest_open=oldest,
        days=day_list,
        decisions=per_steward,
        outcomes=_match_outcomes(),
        duplicates=_system_duplicates(),
        scores=_score_bins(),
        parked={
            status: ReviewTask.objects.filter(status=status).count()
            for status in (ReviewTask.Status.SKIPPED, ReviewTask.Status.DEFERRED)
        },
        task_actions=_task_actions(since=now - timedelta(days=days)),
    )


def _task_actions(*, since: datetime) -> list[StewardTaskActions]:
    # Each close of a task (merge, not a match, skip, defer) writes one
    # history row with the new status; claims and releases stay "open".
    Status = ReviewTask.Status
    closing = (Status.MERGED, Status.NOT_A_MATCH, Status.SKIPPED, Status.DEFERRED)
    rows = (
        ReviewTask.history.filter(
            history_date__gte=since,
            history_type="~",
            status__in=closing,
            history_user__isnull=False,
        )
        .values("history_user__username", "status")
        .annotate(n=Count("history_id"))
    )
    per_steward: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        per_steward[row["history_user__username"]][row["status"]] = row["n"]
    return [
        StewardTaskActions(
            steward=name,
            merged=counts.get(Status.MERGED, 0),
            not_a_match=counts.get(Status.NOT_A_MATCH, 0),
            skipped=counts.get(Status.SKIPPED, 0),
            deferred=counts.get(Status.DEFERRED, 0),
        )
        for name, counts in sorted(per_steward.items())
    ]


def _decisions_per_day(
    *, now: datetime, days: int
) -> tuple[list[date], dict[str, dict[date, int]]]:
    today = timezone.localdate(now)
    day_list = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    rows = (
        StewardDecision.objects.filter(decided_at__gte=now - timedelta(days=days + 1))
        .annotate(day=TruncDate("decided_at"))
        .values("day", "decided_by__username")
        .annotate(n=Count("id"))
    )
    per_steward: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        if row["day"] in day_list:
            per_steward[row["decided_by__username"]][row["day"]] = row["n"]
    return day_list, dict(sorted(per_steward.items()))


def _match_outcomes() -> dict[str, int]:
    # Per source record: "review" if a steward saw it (a review task, or a
    # link made by a decision), else how matching placed it.
    in_review = Q(source_record_id__in=ReviewTask.objects.values("left_id")) | Q(
        source_record_id__in=ReviewTask.objects.values("right_id")
    )
    links = CrossReference.objects
    return {
        "auto_merge": links.filter(method=CrossReference.Method.AUTO_MATCH)
        .exclude(in_review)
        .count(),
        "review": links.filter(
            in_review | Q(method=CrossReference.Method.STEWARD)
        ).count(),
        "new": links.filter(method=CrossReference.Method.NEW)
        .exclude(in_review)
        .count(),
    }


def _system_duplicates() -> list[SystemDuplicates]:
    groups = (
        CrossReference.objects.filter(source_record__is_active=True)
        .values("golden_id", "source_record__source_system_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    duplicates: dict[int, int] = defaultdict(int)
    for group in groups:
        duplicates[group["source_record__source_system_id"]] += group["n"]
    return [
        SystemDuplicates(
            code=system.code,
            name=system.name,
            records=system.active_count,
            duplicates=duplicates.get(system.pk, 0),
        )
        for system in SourceSystem.objects.annotate(
            active_count=Count("records", filter=Q(records__is_active=True))
        ).order_by("code")
    ]


def _score_bins() -> list[ScoreBin]:
    bins = int(round(1 / SCORE_BIN_WIDTH))
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    tasks = (
        ReviewTask.objects.annotate(bin=Floor(F("score") * bins))
        .values("bin", "status")
        .annotate(n=Count("id"))
    )
    for row in tasks:
        series = "open" if row["status"] == ReviewTask.Status.OPEN else "decided"
        counts[series][min(int(row["bin"]), bins - 1)] += row["n"]
    links = (
        CrossReference.objects.filter(score__isnull=False)
        .annotate(bin=Floor(F("score") * bins))
        .values("bin")
        .annotate(n=Count("id"))
    )
    for row in links:
        counts["auto"][min(int(row["bin"]), bins - 1)] += row["n"]
    used = [b for series in counts.values() for b, n in series.items() if n]
    if not used:
        return []
    return [
        ScoreBin(
            low=round(b * SCORE_BIN_WIDTH, 2),
            open=counts["open"][b],
            decided=counts["decided"][b],
            auto=counts["auto"][b],
        )
        for b in range(min(used), bins)
    ]
