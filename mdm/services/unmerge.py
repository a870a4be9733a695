"""Unmerge: undo a steward's merge decision.

The merge decision keeps a snapshot of every golden record it touched. An
unmerge moves the absorbed records' members back, makes their golden IDs live
again, and restores their values and lineage from the snapshot, byte for
byte. Where the members changed since the merge (a source record was updated
or another one joined), the values are recomputed instead, pins kept, since
the old values would no longer describe the members. `golden_record_restore`
is shared with the undo of a split (mdm/services/split.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from mdm.models import (
    CrossReference,
    DecisionMember,
    GoldenRecord,
    OutboxEvent,
    SourceRecord,
    StewardDecision,
)
from mdm.models.audit import AuditEvent
from mdm.selectors.decisions import decision_unmerged_by
from mdm.selectors.roles import user_role
from mdm.services import audit
from mdm.services.errors import DomainError
from mdm.services.golden_records import (
    golden_record_check_versions,
    golden_record_link,
    golden_record_members_digest,
    golden_record_recompute,
    golden_record_snapshot,
)
from mdm.services.outbox import outbox_emit


class UnmergeError(DomainError):
    """A merge that cannot be undone (any more)."""


@audit.audited(
    AuditEvent.Action.GOLDEN_UNMERGE, on="decision", describe=audit.describe_decision
)
@transaction.atomic
def golden_record_unmerge(
    *,
    decision: StewardDecision,
    steward: AbstractBaseUser,
    reason: str,
    expected_version: int | None = None,
) -> StewardDecision:
    """Undo the merge `decision`; return the split decision that records it.

    `expected_version` is the survivor's version the steward saw (optimistic
    locking: any other raises ConflictError and nothing is written).
    """
    if not user_role(steward).can_decide:
        raise PermissionDenied
    decision = StewardDecision.objects.select_for_update().get(pk=decision.pk)
    if decision.kind != StewardDecision.Kind.MERGE:
        raise UnmergeError(_("Only a merge can be undone."))
    if not decision.snapshot:
        raise UnmergeError(
            _("This merge was recorded before unmerge existed and cannot be undone.")
        )
    if decision_unmerged_by(decision) is not None:
        raise UnmergeError(_("This merge has already been undone."))
    survivor_id = decision.details["survivor"]
    absorbed_ids = decision.details["absorbed"]
    locked = {
        r.golden_id: r
        for r in GoldenRecord.objects.select_for_update()
        .filter(golden_id__in=[survivor_id, *absorbed_ids])
        .order_by("pk")  # the lock order of merges: no deadlock
    }
    survivor = locked[survivor_id]
    _check_still_undoable(survivor, [locked[gid] for gid in absorbed_ids])
    if expected_version is not None:
        golden_record_check_versions([survivor], {survivor_id: expected_version})
    before = {survivor_id: golden_record_snapshot(survivor)}
    still_members = set(
        CrossReference.objects.filter(golden=survivor).values_list(
            "source_record_id", flat=True
        )
    )
    leaving = {pk for gid in absorbed_ids for pk in decision.snapshot[gid]["members"]}
    if not still_members - leaving:
        # A later split moved the survivor's own records away: undoing this
        # merge now would leave a live golden record with no source record.
        raise UnmergeError(
            _(
                "%(survivor)s would be left without a source record: undo the "
                "later split first."
            )
            % {"survivor": survivor_id}
        )
    change_reason = f"unmerge of decision {decision.pk}: {reason}"
    groups: dict[int, list[int]] = {}
    for group, golden_id in enumerate(absorbed_ids, start=1):
        record = locked[golden_id]
        snapshot = decision.snapshot[golden_id]
        returning = [pk for pk in snapshot["members"] if pk in still_members]
        if not returning:
            raise UnmergeError(
                _("No source record of %(id)s is left in %(survivor)s.")
                % {"id": golden_id, "survivor": survivor_id}
            )
        for member in SourceRecord.objects.filter(pk__in=returning):
            golden_record_link(
                record=member, golden=record, method=CrossReference.Method.STEWARD
            )
        record.status = GoldenRecord.Status.ACTIVE
        record.merged_into = None
        golden_record_restore(record, snapshot, steward=steward, reason=change_reason)
        groups[group] = returning
    groups[0] = sorted(
        CrossReference.objects.filter(golden=survivor).values_list(
            "source_record_id", flat=True
        )
    )
    golden_record_restore(
        survivor, decision.snapshot[survivor_id], steward=steward, reason=change_reason
    )
    split = StewardDecision.objects.create(
        kind=StewardDecision.Kind.SPLIT,
        decided_by=steward,
        reason=reason,
        details={
            "unmerge_of": decision.pk,
            "survivor": survivor_id,
            "restored": list(absorbed_ids),
        },
        snapshot=before,
    )
    DecisionMember.objects.bulk_create(
        DecisionMember(decision=split, source_record_id=pk, group=group)
        for group, members in sorted(groups.items())
        for pk in members
    )
    for golden_id in (survivor_id, *absorbed_ids):
        outbox_emit(
            topic=OutboxEvent.Topic.UNMERGED,
            golden=locked[golden_id],
            extra={
                "unmerge_of": decision.pk,
                "survivor": survivor_id,
                "restored": list(absorbed_ids),
            },
        )
    return split


def _check_still_undoable(survivor: GoldenRecord, absorbed: list[GoldenRecord]) -> None:
    if survivor.status != GoldenRecord.Status.ACTIVE:
        raise UnmergeError(
            _(
                "%(id)s has since been merged into another golden record: "
                "undo that merge first."
            )
            % {"id": survivor.golden_id}
        )
    for record in absorbed:
        if record.merged_into_id != survivor.pk:
            raise UnmergeError(
                _("%(id)s is no longer merged into %(survivor)s.")
                % {"id": record.golden_id, "survivor": survivor.golden_id}
            )


def golden_record_restore(
    golden: GoldenRecord,
    snapshot: dict[str, Any],
    *,
    steward: AbstractBaseUser,
    reason: str,
) -> None:
    """Give `golden` back the values and lineage of `snapshot` (taken by
    `golden_record_snapshot`), byte for byte; if its members changed since,
    recompute instead, keeping the snapshot's pins. The version goes on
    rising. Call inside the undoing transaction, with `golden` locked."""
    golden._history_user = steward
    if golden_record_members_digest(golden) != snapshot["members_digest"]:
        # The members changed since the merge: values from then would lie.
        golden.lineage = snapshot["lineage"]
        golden_record_recompute(golden=golden, reason=reason)
        return
    for field, value in snapshot["values"].items():
        setattr(golden, field, value)
    golden.lineage = snapshot["lineage"]
    # The version goes on rising: a form opened before the merge stays stale.
    golden.version += 1
    golden._change_reason = reason
    golden.save()
