"""Golden records: creation, linking of source records, merge and recompute."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from mdm.golden_ids import golden_id_format
from mdm.models import (
    CrossReference,
    DecisionMember,
    GoldenIdAllocation,
    GoldenRecord,
    SourceRecord,
    StewardDecision,
)
from mdm.services.errors import MergeError
from mdm.services.survivorship import survive


def golden_id_issue() -> str:
    """Issue a golden ID that has never been issued before."""
    return golden_id_format(GoldenIdAllocation.objects.create().pk)


@transaction.atomic
def golden_record_create(
    *,
    members: Sequence[SourceRecord],
    method: str = CrossReference.Method.NEW,
    score: float | None = None,
) -> GoldenRecord:
    """Create a golden record for `members` (not yet linked elsewhere)."""
    if not members:
        raise MergeError("A golden record needs at least one source record.")
    golden = GoldenRecord(golden_id=golden_id_issue())
    _apply_survivorship(golden, members)
    golden._change_reason = f"created from {', '.join(m.key for m in members)}"
    golden.save()
    for member in members:
        golden_record_link(record=member, golden=golden, method=method, score=score)
    return golden


@transaction.atomic
def golden_record_link(
    *,
    record: SourceRecord,
    golden: GoldenRecord,
    method: str,
    score: float | None = None,
) -> CrossReference:
    """Point `record` at `golden`; the previous link stays in the history."""
    xref = (
        CrossReference.objects.select_for_update().filter(source_record=record).first()
    )
    if xref is None:
        xref = CrossReference(source_record=record)
    elif xref.golden_id == golden.pk:
        return xref
    xref.golden = golden
    xref.method = method
    xref.score = score
    xref.linked_at = timezone.now()
    xref._change_reason = f"linked to {golden.golden_id} ({method})"
    xref.save()
    return xref


@transaction.atomic
def golden_record_merge(
    *,
    survivor: GoldenRecord,
    absorbed: Sequence[GoldenRecord],
    steward: AbstractBaseUser,
    reason: str,
) -> GoldenRecord:
    """Fold `absorbed` into `survivor`: their source records move over, their
    golden IDs keep resolving to the survivor, and the decision is recorded."""
    absorbed_ids = {record.pk for record in absorbed}
    if not absorbed_ids:
        raise MergeError("Nothing to merge.")
    if survivor.pk in absorbed_ids:
        raise MergeError("A golden record cannot absorb itself.")
    locked = {
        r.pk: r
        for r in GoldenRecord.objects.select_for_update().filter(
            pk__in=absorbed_ids | {survivor.pk}
        )
    }
    inactive = [
        r.golden_id for r in locked.values() if r.status != GoldenRecord.Status.ACTIVE
    ]
    if inactive:
        raise MergeError(
            f"Only active golden records can be merged: {', '.join(inactive)}."
        )
    survivor = locked[survivor.pk]
    moving = list(
        CrossReference.objects.select_related("source_record").filter(
            golden_id__in=absorbed_ids
        )
    )
    for xref in moving:
        golden_record_link(
            record=xref.source_record,
            golden=survivor,
            method=CrossReference.Method.STEWARD,
        )
    for pk in sorted(absorbed_ids):
        record = locked[pk]
        record.status = GoldenRecord.Status.MERGED
        record.merged_into = survivor
        record.version += 1
        record._change_reason = f"merged into {survivor.golden_id}: {reason}"
        record.save()
    golden_record_recompute(golden=survivor, reason=reason)
    decision = StewardDecision.objects.create(
        kind=StewardDecision.Kind.MERGE,
        decided_by=steward,
        reason=reason,
        details={
            "survivor": survivor.golden_id,
            "absorbed": [locked[pk].golden_id for pk in sorted(absorbed_ids)],
        },
    )
    DecisionMember.objects.bulk_create(
        DecisionMember(decision=decision, source_record=xref.source_record)
        for xref in survivor.xrefs.select_related("source_record")
    )
    return survivor


@transaction.atomic
def golden_record_recompute(*, golden: GoldenRecord, reason: str) -> GoldenRecord:
    """Recompute the golden values from the current member source records."""
    members = list(
        SourceRecord.objects.select_related("source_system").filter(xref__golden=golden)
    )
    _apply_survivorship(golden, members)
    golden.version += 1
    golden._change_reason = reason
    golden.save()
    return golden


def _apply_survivorship(golden: GoldenRecord, members: Sequence[SourceRecord]) -> None:
    values, lineage = survive(members)
    for attribute, value in values.items():
        setattr(golden, attribute, value)
    golden.lineage = lineage
