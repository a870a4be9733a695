"""Reads with business meaning."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import combinations
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Floor, TruncDate
from django.utils import timezone

from matching import standardise
from mdm.golden_ids import InvalidGoldenId, golden_id_clean
from mdm.id_card import SCALAR_ATTRIBUTES
from mdm.models import (
    CrossReference,
    DecisionMember,
    GoldenRecord,
    ReviewTask,
    SourceRecord,
    SourceSystem,
    StewardDecision,
)
from mdm.selectors_names import name_candidates
from mdm.services.survivorship import candidate_values

# A merge chain longer than this means corrupt data, not a real history.
MAX_MERGE_CHAIN = 1000


@dataclass(frozen=True)
class GoldenResolution:
    record: GoldenRecord  # the live survivor
    chain: list[str]  # golden IDs followed, the requested one first


def golden_record_resolve(golden_id: str) -> GoldenResolution:
    """Find a golden record by ID; a merged-away ID resolves to its survivor.

    Raises InvalidGoldenId for a malformed ID (e.g. a typo caught by the check
    digit) and GoldenRecord.DoesNotExist for an unknown one.
    """
    record = GoldenRecord.objects.get(golden_id=golden_id_clean(golden_id))
    chain = [record.golden_id]
    while record.merged_into_id is not None:
        if len(chain) > MAX_MERGE_CHAIN:
            raise RuntimeError(f"merge chain from {chain[0]} does not end")
        record = GoldenRecord.objects.get(pk=record.merged_into_id)
        chain.append(record.golden_id)
    return GoldenResolution(record=record, chain=chain)


def not_a_match_pairs() -> set[tuple[int, int]]:
    """Every pair of source-record ids a steward declared not to match: any
    two records of a not-a-match decision, and records a standing split put
    in different groups."""
    members: dict[int, list[tuple[int, int]]] = {}
    for decision_id, record_id, group in _apart_members(DecisionMember.objects):
        members.setdefault(decision_id, []).append((record_id, group))
    return {
        (min(a, b), max(a, b))
        for ids in members.values()
        for (a, group_a), (b, group_b) in combinations(ids, 2)
        if group_a != group_b
    }


def _apart_members(members: Any) -> list[tuple[int, int, int]]:
    """(decision, source record, group) rows of the decisions that keep
    records apart: not-a-match (each record a group of its own) and splits
    not undone."""
    rows = list(
        members.filter(
            Q(decision__kind=StewardDecision.Kind.NOT_A_MATCH)
            | Q(
                decision__kind=StewardDecision.Kind.SPLIT,
                decision__details__has_key="created",
            )
        ).values_list("decision_id", "decision__kind", "source_record_id", "group")
    )
    split = StewardDecision.Kind.SPLIT
    undone = splits_undone() if any(row[1] == split for row in rows) else {}
    return [
        (decision_id, record_id, group if kind == split else record_id)
        for decision_id, kind, record_id, group in rows
        if decision_id not in undone
    ]


def splits_undone() -> dict[int, StewardDecision]:
    """Splits undone now ({split decision id: the merge that undid it}); an
    undo that was unmerged since does not count: its split stands again."""
    unmerged = {
        details["unmerge_of"]
        for details in StewardDecision.objects.filter(
            kind=StewardDecision.Kind.SPLIT, details__has_key="unmerge_of"
        ).values_list("details", flat=True)
    }
    return {
        merge.details["undo_of"]: merge
        for merge in StewardDecision.objects.select_related("decided_by")
        .filter(kind=StewardDecision.Kind.MERGE, details__has_key="undo_of")
        .order_by("pk")
        if merge.pk not in unmerged
    }


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


def not_a_match_partners(record_id: int) -> set[int]:
    """Source records a steward declared not to match `record_id` (see
    `not_a_match_pairs`)."""
    decisions = DecisionMember.objects.filter(source_record_id=record_id).values(
        "decision_id"
    )
    rows = _apart_members(DecisionMember.objects.filter(decision_id__in=decisions))
    own = {decision_id: group for decision_id, pk, group in rows if pk == record_id}
    return {
        pk
        for decision_id, pk, group in rows
        if pk != record_id and group != own[decision_id]
    }


STEWARDS_GROUP = "stewards"
VIEWERS_GROUP = "viewers"


@dataclass(frozen=True)
class Role:
    """What a person may do in the steward UI. Admins are superusers."""

    can_read: bool
    can_decide: bool

    @property
    def sees_personal_data(self) -> bool:
        # Viewers read masked phones, e-mails and tax IDs; deciders see them.
        return self.can_decide


def user_role(user: Any) -> Role:
    """The role of `user`: steward (decide), viewer (read, masked), or none."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Role(can_read=False, can_decide=False)
    cached = getattr(user, "_mdm_role", None)
    if cached is None:
        if user.is_superuser:
            cached = Role(can_read=True, can_decide=True)
        else:
            groups = set(user.groups.values_list("name", flat=True))
            decide = STEWARDS_GROUP in groups
            cached = Role(can_read=decide or VIEWERS_GROUP in groups, can_decide=decide)
        user._mdm_role = cached
    return cached


def steward_list() -> QuerySet:
    """People a review task can be assigned to."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name=STEWARDS_GROUP) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


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


def decision_unmerged_by(decision: StewardDecision) -> StewardDecision | None:
    """The split that undid the merge `decision`, if any."""
    return StewardDecision.objects.filter(
        kind=StewardDecision.Kind.SPLIT, details__unmerge_of=decision.pk
    ).first()


def golden_record_members(golden: GoldenRecord) -> list[CrossReference]:
    return list(
        CrossReference.objects.select_related("source_record__source_system")
        .filter(golden=golden)
        .order_by("source_record__source_system__code", "source_record__source_id")
    )


def source_record_get(pk: int) -> SourceRecord:
    return SourceRecord.objects.select_related("source_system", "xref__golden").get(
        pk=pk
    )


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str  # created, changed, linked, moved_away, decision, task
    who: str
    reason: str = ""
    # (attribute, before, after) for a change of the golden record itself.
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    source: str = ""  # a source record key, for link events
    other_golden: str = ""  # where a source record went, or came from
    method: str = ""
    decision: StewardDecision | None = None
    undone_by: StewardDecision | None = None
    undoable: bool = False  # a merge into this record that can be unmerged
    task_status: str = ""


# History fields that change on every save and tell a reader nothing.
_QUIET_FIELDS = {"updated_at", "version", "lineage", "merged_into"}


def golden_record_timeline(golden: GoldenRecord) -> list[TimelineEvent]:
    """Everything that happened to `golden`, newest first: its own changes,
    source records linked and moved away, steward decisions, and skips and
    deferrals of review tasks about its records."""
    xref_history = CrossReference.history.model
    ever = set(
        xref_history.objects.filter(golden_id=golden.pk).values_list(
            "source_record_id", flat=True
        )
    )
    events = [
        *_golden_history_events(golden),
        *_link_events(golden, ever),
        *_decision_events(golden, ever),
        *_task_events(ever),
    ]
    return sorted(events, key=lambda e: e.at, reverse=True)


def _who(row: Any) -> str:
    user = row.history_user
    return user.get_username() if user is not None else ""


def _golden_history_events(golden: GoldenRecord) -> list[TimelineEvent]:
    rows = list(golden.history.select_related("history_user").order_by("history_id"))
    events = []
    for previous, row in zip([None, *rows], rows, strict=False):
        changes = []
        if previous is not None:
            delta = row.diff_against(previous)
            changes = [
                (c.field, c.old, c.new)
                for c in delta.changes
                if c.field not in _QUIET_FIELDS
            ]
        events.append(
            TimelineEvent(
                at=row.history_date,
                kind="created" if previous is None else "changed",
                who=_who(row),
                reason=row.history_change_reason or "",
                changes=changes,
            )
        )
    return events


def _link_events(golden: GoldenRecord, ever: set[int]) -> list[TimelineEvent]:
    rows = list(
        CrossReference.history.model.objects.select_related("history_user")
        .filter(source_record_id__in=ever)
        .order_by("source_record_id", "history_id")
    )
    keys = dict(
        (r.pk, r.key)
        for r in SourceRecord.objects.select_related("source_system").filter(
            pk__in=ever
        )
    )
    golden_ids = dict(
        GoldenRecord.objects.filter(pk__in={r.golden_id for r in rows}).values_list(
            "pk", "golden_id"
        )
    )
    events = []
    previous = None
    for row in rows:
        before = (
            previous.golden_id
            if previous is not None
            and previous.source_record_id == row.source_record_id
            else None
        )
        if row.golden_id == golden.pk and before != golden.pk:
            kind, other = "linked", before
        elif before == golden.pk and row.golden_id != golden.pk:
            kind, other = "moved_away", row.golden_id
        else:
            previous = row
            continue
        events.append(
            TimelineEvent(
                at=row.history_date,
                kind=kind,
                who=_who(row),
                source=keys.get(row.source_record_id, str(row.source_record_id)),
                other_golden=golden_ids.get(other, "") if other else "",
                method=row.method,
            )
        )
        previous = row
    return events


def _decision_events(golden: GoldenRecord, ever: set[int]) -> list[TimelineEvent]:
    decisions = list(
        StewardDecision.objects.select_related("decided_by")
        .filter(members__source_record_id__in=ever)
        .distinct()
    )
    splits = {
        d.details.get("unmerge_of"): d
        for d in decisions
        if d.kind == StewardDecision.Kind.SPLIT and "unmerge_of" in d.details
    }
    # A steward's split (not an unmerge) is undone by a merge, on the page of
    # the record that was split.
    undone_splits = (
        splits_undone() if any("created" in d.details for d in decisions) else {}
    )

    def undone_by(d: StewardDecision) -> StewardDecision | None:
        if d.kind == StewardDecision.Kind.MERGE:
            return splits.get(d.pk)
        return undone_splits.get(d.pk)

    def undoable(d: StewardDecision) -> bool:
        if not d.snapshot or golden.status != GoldenRecord.Status.ACTIVE:
            return False
        if d.kind == StewardDecision.Kind.MERGE:
            return d.pk not in splits and d.details.get("survivor") == golden.golden_id
        return (
            "created" in d.details
            and d.pk not in undone_splits
            and d.details.get("golden") == golden.golden_id
        )

    return [
        TimelineEvent(
            at=d.decided_at,
            kind="decision",
            who=d.decided_by.get_username(),
            reason=d.reason,
            decision=d,
            undone_by=undone_by(d),
            undoable=undoable(d),
        )
        for d in decisions
    ]


def _task_events(ever: set[int]) -> list[TimelineEvent]:
    # Merges and not-a-match show as decisions; skips, deferrals and reopened
    # tasks exist only in the review tasks' history.
    shown = {ReviewTask.Status.SKIPPED, ReviewTask.Status.DEFERRED}
    rows = (
        ReviewTask.history.model.objects.select_related("history_user")
        .filter(Q(left_id__in=ever) | Q(right_id__in=ever))
        .order_by("id", "history_id")
    )
    events = []
    previous = None
    for row in rows:
        before = previous.status if previous and previous.id == row.id else None
        reopened = row.status == ReviewTask.Status.OPEN and before in shown
        if (row.status in shown and before != row.status) or reopened:
            events.append(
                TimelineEvent(
                    at=row.history_date,
                    kind="task",
                    who=_who(row),
                    reason=row.comment,
                    task_status="reopened" if reopened else row.status,
                )
            )
        previous = row
    return events


@dataclass(frozen=True)
class SearchHit:
    golden: GoldenRecord
    record: SourceRecord | None  # the member that matched, if one did
    score: float | None = None  # name similarity, 0..100


@dataclass(frozen=True)
class SearchResult:
    kind: str  # empty, golden_id, typo, source_id, uscc, phone, name
    hits: list[SearchHit]
    chain: list[str] = field(default_factory=list)  # a golden ID's merge chain


SEARCH_LIMIT = 25
# Records a search by source ID, USCC or phone reads at most; name hits this
# far below the best one are dropped (scores 0..100).
HITS_PER_KEY = 2000
NAME_SCORE_SPREAD = 30.0
_GOLDEN_ID_SHAPE = re.compile(r"^GR[\d\s\-]*$", re.IGNORECASE)
_TAX_ID_SHAPE = re.compile(r"^[0-9A-Za-z]{15,20}$")
_PHONE_SHAPE = re.compile(r"^[+\d\s\-()]{7,}$")


def golden_record_search(query: str) -> SearchResult:
    """Find golden records by golden ID (check digit verified), source ID,
    USCC, phone (normalised to E.164) or name (fuzzy; Chinese or pinyin)."""
    query = " ".join(query.split())
    if not query:
        return SearchResult(kind="empty", hits=[])
    if _GOLDEN_ID_SHAPE.match(query):
        return _search_golden_id(query)
    by_source_id = _search_source_id(query)
    if by_source_id:
        return SearchResult(kind="source_id", hits=by_source_id)
    compact = re.sub(r"[\s\-]", "", query)
    if _TAX_ID_SHAPE.match(compact) and sum(c.isdigit() for c in compact) >= 6:
        return SearchResult(kind="uscc", hits=_search_uscc(compact.upper()))
    if _PHONE_SHAPE.match(query):
        return SearchResult(kind="phone", hits=_search_phone(query))
    return SearchResult(kind="name", hits=_search_name(query))


def _search_golden_id(query: str) -> SearchResult:
    try:
        resolution = golden_record_resolve(query)
    except InvalidGoldenId:
        return SearchResult(kind="typo", hits=[])
    except GoldenRecord.DoesNotExist:
        return SearchResult(kind="golden_id", hits=[])
    return SearchResult(
        kind="golden_id",
        hits=[SearchHit(golden=resolution.record, record=None)],
        chain=resolution.chain,
    )


def _hits_for(records: QuerySet[SourceRecord]) -> list[SearchHit]:
    hits: dict[int, SearchHit] = {}
    for record in records.select_related("source_system", "xref__golden")[
        :HITS_PER_KEY
    ]:
        golden = _golden_of(record)
        if golden is not None and golden.pk not in hits:
            hits[golden.pk] = SearchHit(golden=golden, record=record)
    return list(hits.values())[:SEARCH_LIMIT]


def _golden_of(record: SourceRecord) -> GoldenRecord | None:
    try:
        return record.xref.golden
    except CrossReference.DoesNotExist:
        return None


def _search_source_id(query: str) -> list[SearchHit]:
    condition = Q(source_id__iexact=query)
    system, _, source_id = query.partition(":")
    if source_id:
        condition |= Q(source_system__code__iexact=system, source_id__iexact=source_id)
    return _hits_for(SourceRecord.objects.filter(condition).order_by("pk"))


def _search_uscc(uscc: str) -> list[SearchHit]:
    hits = _hits_for(SourceRecord.objects.filter(uscc=uscc).order_by("pk"))
    seen = {hit.golden.pk for hit in hits}
    hits += [
        SearchHit(golden=golden, record=None)
        for golden in GoldenRecord.objects.filter(
            uscc=uscc, status=GoldenRecord.Status.ACTIVE
        ).exclude(pk__in=seen)
    ]
    return hits[:SEARCH_LIMIT]


def _search_phone(query: str) -> list[SearchHit]:
    numbers = [phone.e164 for phone in standardise.phones(query)]
    if not numbers:
        return []
    condition = Q()
    for number in numbers:
        # Quoted, so that one number does not match a longer one.
        condition |= Q(standardised__phones__icontains=f'"{number}"')
    return _hits_for(SourceRecord.objects.filter(condition).order_by("pk"))


def _search_name(query: str) -> list[SearchHit]:
    best: dict[int, SearchHit] = {}
    for record, score in name_candidates(query):
        golden = record.xref.golden
        score *= 100
        if golden.pk not in best or score > best[golden.pk].score:
            best[golden.pk] = SearchHit(golden=golden, record=record, score=score)
    hits = sorted(best.values(), key=lambda h: -h.score)
    # Far below the best hit is noise ("weihai" finding every 威 and 海).
    floor = hits[0].score - NAME_SCORE_SPREAD if hits else 0
    return [hit for hit in hits if hit.score >= floor][:SEARCH_LIMIT]


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
