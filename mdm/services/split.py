"""Split: a steward divides a golden record's source records into groups.

Rules (what the split page states to the steward, and what the tests hold):

- `groups` maps every current member (source record id) to a group label;
  at least two groups, no member left out, no stranger put in.
- One group keeps the golden ID: the one the steward names (`keep`), else the
  group with the most members, on a tie the one holding the earliest received
  source record. Every other group becomes a new golden record with a golden
  ID issued for it (golden IDs are never reused).
- Survivorship is computed afresh for each group from its own members.
- A steward's pinned value follows the records that offer it: every group
  with a member holding the pinned value keeps the pin; a value no member
  holds (typed by hand) stays with the group that keeps the golden ID. A
  group without the pin's holders lets its sources decide again.
- The decision (kind SPLIT, details {"golden": ..., "created": [...]}) names
  every member with its group: 0 kept the golden ID, n went to
  details["created"][n - 1]. It keeps a snapshot of the record as it was, so
  `golden_record_split_undo` can fold the new records back and restore it
  byte for byte. The undo is recorded as a merge (details["undo_of"]), which
  `golden_record_unmerge` can in turn undo, bringing the split back exactly.
- While a split stands, members of different groups count as "not a match"
  for batch and real-time matching
  (`mdm.selectors.decisions.not_a_match_pairs`), so re-matching does not put
  them together again.
- Every golden record involved gets a golden.split outbox event in the same
  transaction; the undo writes one golden.merged event for the restored record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from mdm.selectors.roles import user_role
from mdm.services import audit
from mdm.services.errors import DomainError
from mdm.services.golden_records import (
    golden_id_issue,
    golden_record_check_versions,
    golden_record_link,
    golden_record_lock,
    golden_record_snapshot,
    golden_record_snapshots,
)
from mdm.services.outbox import outbox_emit
from mdm.services.survivorship import Pins, candidate_values, steward_pins, survive
from mdm.services.unmerge import golden_record_restore


class SplitError(DomainError):
    """A split (or its undo) that cannot be carried out."""


@dataclass(frozen=True)
class SplitGroup:
    """One group of a split as it would come out."""

    label: int  # the steward's group number
    members: list[SourceRecord]
    keeps_id: bool
    values: dict[str, Any]
    lineage: dict[str, Any]


def golden_record_split_plan(
    *, golden: GoldenRecord, groups: Mapping[int, int], keep: int | None = None
) -> list[SplitGroup]:
    """The groups `golden_record_split` would make, without writing: the one
    keeping the golden ID first, then the new records in label order."""
    members = {
        m.pk: m
        for m in SourceRecord.objects.select_related("source_system").filter(
            xref__golden=golden
        )
    }
    assigned = {int(pk): int(label) for pk, label in groups.items()}
    strangers = set(assigned) - set(members)
    if strangers:
        raise SplitError(
            _("Source records %(ids)s are not members of %(golden)s.")
            % {
                "ids": ", ".join(map(str, sorted(strangers))),
                "golden": golden.golden_id,
            }
        )
    if set(members) - set(assigned):
        raise SplitError(
            _("Put every source record of %(golden)s in a group.")
            % {"golden": golden.golden_id}
        )
    by_label: dict[int, list[SourceRecord]] = {}
    for pk in sorted(assigned):
        by_label.setdefault(assigned[pk], []).append(members[pk])
    if len(by_label) < 2:
        raise SplitError(_("A split needs at least two groups."))
    if keep is None:
        keep = max(
            by_label, key=lambda label: (len(by_label[label]), -by_label[label][0].pk)
        )
    elif keep not in by_label:
        raise SplitError(_("The group that keeps the golden ID has no source record."))
    order = [keep, *sorted(label for label in by_label if label != keep)]
    pins = _group_pins(steward_pins(golden), [by_label[label] for label in order])
    plan = []
    for index, label in enumerate(order):
        values, lineage = survive(by_label[label], pins[index])
        plan.append(
            SplitGroup(
                label=label,
                members=by_label[label],
                keeps_id=index == 0,
                values=values,
                lineage=lineage,
            )
        )
    return plan


@audit.audited(
    AuditEvent.Action.GOLDEN_SPLIT, on="golden", describe=audit.describe_decision
)
@transaction.atomic
def golden_record_split(
    *,
    golden: GoldenRecord,
    groups: Mapping[int, int],
    steward: AbstractBaseUser,
    reason: str,
    expected_version: int,
    keep: int | None = None,
) -> StewardDecision:
    """Split `golden` into the steward's groups (see the module doc); return
    the decision. `expected_version` is the version the steward saw: any
    other raises ConflictError and nothing is written."""
    if not user_role(steward).can_decide:
        raise PermissionDenied
    golden = golden_record_lock(golden, expected_version)
    if golden.status != GoldenRecord.Status.ACTIVE:
        raise SplitError(_("Only an active golden record can be split."))
    kept, *others = golden_record_split_plan(golden=golden, groups=groups, keep=keep)
    snapshot = {golden.golden_id: golden_record_snapshot(golden)}
    created = []
    for group in others:
        record = GoldenRecord(golden_id=golden_id_issue())
        _apply(record, group)
        record._change_reason = f"split from {golden.golden_id}: {reason}"
        record._history_user = steward
        record.save()
        for member in group.members:
            golden_record_link(
                record=member, golden=record, method=CrossReference.Method.STEWARD
            )
        created.append(record)
    created_ids = [record.golden_id for record in created]
    _apply(golden, kept)
    golden.version += 1
    golden._change_reason = f"split, {', '.join(created_ids)} created: {reason}"
    golden._history_user = steward
    golden.save()
    decision = StewardDecision.objects.create(
        kind=StewardDecision.Kind.SPLIT,
        decided_by=steward,
        reason=reason,
        details={"golden": golden.golden_id, "created": created_ids},
        snapshot=snapshot,
    )
    DecisionMember.objects.bulk_create(
        DecisionMember(decision=decision, source_record=member, group=number)
        for number, group in enumerate([kept, *others])
        for member in group.members
    )
    for record in (golden, *created):
        outbox_emit(
            topic=OutboxEvent.Topic.SPLIT,
            golden=record,
            extra={"split_of": golden.golden_id, "created": created_ids},
        )
    return decision


@audit.audited(
    AuditEvent.Action.GOLDEN_SPLIT_UNDO, on="decision", describe=audit.describe_decision
)
@transaction.atomic
def golden_record_split_undo(
    *,
    decision: StewardDecision,
    steward: AbstractBaseUser,
    reason: str,
    expected_version: int,
) -> StewardDecision:
    """Undo the split `decision`: the records it created merge back into the
    split record (their golden IDs resolve to it from then on) and its values
    and lineage are restored from the snapshot; return the merge decision that
    records it. `expected_version` is the split record's version the steward
    saw."""
    if not user_role(steward).can_decide:
        raise PermissionDenied
    decision = StewardDecision.objects.select_for_update().get(pk=decision.pk)
    if decision.kind != StewardDecision.Kind.SPLIT or "created" not in decision.details:
        raise SplitError(_("Only a split can be undone here."))
    golden_id = decision.details["golden"]
    created_ids = decision.details["created"]
    locked = {
        r.golden_id: r
        for r in GoldenRecord.objects.select_for_update()
        .filter(golden_id__in=[golden_id, *created_ids])
        .order_by("pk")  # the lock order of merges: no deadlock
    }
    golden = locked[golden_id]
    created = [locked[gid] for gid in created_ids]
    golden_record_check_versions([golden], {golden_id: expected_version})
    _check_split_undoable(decision, golden, created)
    before = golden_record_snapshots([golden, *created])
    change_reason = f"undo of split {decision.pk}: {reason}"
    for xref in CrossReference.objects.select_related("source_record").filter(
        golden__in=created
    ):
        golden_record_link(
            record=xref.source_record,
            golden=golden,
            method=CrossReference.Method.STEWARD,
        )
    for record in created:
        record.status = GoldenRecord.Status.MERGED
        record.merged_into = golden
        record.version += 1
        record._change_reason = f"merged back into {golden_id}: {change_reason}"
        record._history_user = steward
        record.save()
    golden_record_restore(
        golden,
        decision.snapshot[golden_id],
        steward=steward,
        reason=change_reason,
    )
    merge = StewardDecision.objects.create(
        kind=StewardDecision.Kind.MERGE,
        decided_by=steward,
        reason=reason,
        details={
            "survivor": golden_id,
            "absorbed": created_ids,
            "undo_of": decision.pk,
        },
        snapshot=before,
    )
    DecisionMember.objects.bulk_create(
        DecisionMember(decision=merge, source_record_id=pk)
        for pk in CrossReference.objects.filter(golden=golden)
        .order_by("source_record_id")
        .values_list("source_record_id", flat=True)
    )
    outbox_emit(
        topic=OutboxEvent.Topic.MERGED,
        golden=golden,
        extra={"absorbed": created_ids, "undo_of_split": decision.pk},
    )
    return merge


def _check_split_undoable(
    decision: StewardDecision, golden: GoldenRecord, created: Sequence[GoldenRecord]
) -> None:
    if not decision.snapshot:
        raise SplitError(_("This split has no snapshot and cannot be undone."))
    if all(record.merged_into_id == golden.pk for record in created):
        raise SplitError(_("This split has already been undone."))
    for record in (golden, *created):
        if record.status != GoldenRecord.Status.ACTIVE:
            raise SplitError(
                _(
                    "%(id)s has since been merged into another golden record: "
                    "undo that merge first."
                )
                % {"id": record.golden_id}
            )
    # Members that left for a record the split did not make (a later split of
    # a new record): undoing this one now would not restore what was.
    elsewhere = sorted(
        set(
            CrossReference.objects.filter(
                source_record_id__in=decision.snapshot[golden.golden_id]["members"]
            )
            .exclude(golden__in=[golden, *created])
            .values_list("golden__golden_id", flat=True)
        )
    )
    if elsewhere:
        raise SplitError(
            _("%(ids)s now hold source records of this split: undo that first.")
            % {"ids": ", ".join(elsewhere)}
        )


def _group_pins(pins: Pins, groups: Sequence[Sequence[SourceRecord]]) -> list[dict]:
    """Each group's pins: a pin goes to every group with a member offering its
    value, or to the first group (the one keeping the golden ID) if none does."""
    result: list[dict] = [{} for _group in groups]
    for attribute, pin in pins.items():
        holders = [
            index
            for index, members in enumerate(groups)
            if pin["value"] in candidate_values(members, attribute)
        ]
        for index in holders or [0]:
            result[index][attribute] = pin
    return result


def _apply(golden: GoldenRecord, group: SplitGroup) -> None:
    for attribute, value in group.values.items():
        setattr(golden, attribute, value)
    golden.lineage = group.lineage
