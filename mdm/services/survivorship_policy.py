"""Applying the survivorship policy in force to existing golden records,
after a steward changed it (`manage.py recompute_golden_records`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction

from mdm.models import GoldenRecord, SourceRecord
from mdm.services.golden_records import (
    golden_record_lineage_save,
    golden_record_recompute,
)
from mdm.services.keyset import pk_batches
from mdm.services.survivorship import (
    Policy,
    steward_pins,
    survive,
    survivorship_policy_get,
)

REASON = "survivorship policy applied"


@dataclass
class PolicyApplyReport:
    total: int = 0  # active golden records when the run started
    examined: int = 0
    values_changed: int = 0  # written, with history and an outbox event
    lineage_changed: int = 0  # same values, another source or rule: history only


def survivorship_policy_apply(
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    on_batch: Callable[[PolicyApplyReport], None] | None = None,
) -> PolicyApplyReport:
    """Recompute every active golden record under the policy in force and
    write only those whose values or lineage change. Values that change go
    through `golden_record_recompute` (new version, history, outbox event);
    a lineage-only change (same values, decided by another rule or source)
    is saved with history but no event: consumers would receive nothing new.
    Steward pins stay. Each batch is one transaction; `dry_run` writes
    nothing and only counts."""
    policy = survivorship_policy_get()
    active = GoldenRecord.objects.filter(status=GoldenRecord.Status.ACTIVE)
    report = PolicyApplyReport(total=active.count())
    # Records merged away mid-run drop out; records created mid-run were
    # computed under this policy already.
    for batch in pk_batches(active, batch_size):
        _apply_batch(batch, policy=policy, dry_run=dry_run, report=report)
        if on_batch is not None:
            on_batch(report)
    return report


@transaction.atomic
def _apply_batch(
    pks: Sequence[int], *, policy: Policy, dry_run: bool, report: PolicyApplyReport
) -> None:
    goldens = GoldenRecord.objects.filter(
        pk__in=pks, status=GoldenRecord.Status.ACTIVE
    ).order_by("pk")
    if not dry_run:
        goldens = goldens.select_for_update()
    members: dict[int, list[SourceRecord]] = defaultdict(list)
    for record in SourceRecord.objects.select_related("source_system", "xref").filter(
        xref__golden_id__in=pks
    ):
        members[record.xref.golden_id].append(record)
    for golden in goldens:
        report.examined += 1
        values, lineage = survive(members[golden.pk], steward_pins(golden), policy)
        if any(getattr(golden, name) != values[name] for name in values):
            report.values_changed += 1
            if not dry_run:
                golden_record_recompute(golden=golden, reason=REASON)
        elif lineage != golden.lineage:
            report.lineage_changed += 1
            if not dry_run:
                golden_record_lineage_save(
                    golden=golden, lineage=lineage, reason=REASON
                )
