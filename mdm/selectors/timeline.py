"""A golden record's timeline: its own changes, source records linked and
moved away, steward decisions, and skipped or deferred review tasks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from mdm.models import (
    CrossReference,
    GoldenRecord,
    ReviewTask,
    SourceRecord,
    StewardDecision,
)
from mdm.selectors.decisions import splits_undone


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
