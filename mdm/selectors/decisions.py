"""Steward decisions as they stand now: the source records they keep apart
(not a match, splits not undone) and the decisions undone since."""

from __future__ import annotations

from itertools import combinations
from typing import Any

from django.db.models import Q

from mdm.models import (
    DecisionMember,
    StewardDecision,
)


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


def decision_unmerged_by(decision: StewardDecision) -> StewardDecision | None:
    """The split that undid the merge `decision`, if any."""
    return StewardDecision.objects.filter(
        kind=StewardDecision.Kind.SPLIT,
        details__has_key="unmerge_of",  # the partial index's condition
        details__unmerge_of=decision.pk,
    ).first()
