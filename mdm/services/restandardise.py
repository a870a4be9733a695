"""Standardise the stored source records again, after an upgrade changed
the standardisers.

Search, the look-ups by tax ID and phone and survivorship read the
standardised values stored on each source record; they are written when a
payload arrives and otherwise keep what the code of that day made. After an
upgrade whose standardisers read some values better (quotation marks around
a name, a repeated municipality in an address), `source_records_restandardise`
writes the new values, with history, for the records they change; then
`survivorship_policy_apply` brings the golden records in line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from mdm.models import SourceRecord
from mdm.services import bulk_sql
from mdm.services.keyset import pk_batches
from mdm.services.source_records import (
    source_record_history_write,
    standardised_values,
)

REASON = "standardised again"
_WRITTEN = ["standardised", "uscc", "uscc_valid", "updated_at"]


@dataclass
class RestandardiseReport:
    total: int
    examined: int = 0
    changed: int = 0


def source_records_restandardise(
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    on_batch: Callable[[RestandardiseReport], None] | None = None,
) -> RestandardiseReport:
    """Standardise every source record's attributes again and write those
    whose stored values differ (standardised values, USCC and its validity),
    each with a history row. Each batch is one transaction holding its rows'
    locks, so a payload arriving meanwhile waits or is read after; `dry_run`
    writes nothing and only counts."""
    records = SourceRecord.objects.all()
    report = RestandardiseReport(total=records.count())
    for pks in pk_batches(records, batch_size):
        _restandardise_batch(pks, dry_run=dry_run, report=report)
        if on_batch is not None:
            on_batch(report)
    return report


@transaction.atomic
def _restandardise_batch(
    pks: Sequence[int], *, dry_run: bool, report: RestandardiseReport
) -> None:
    rows = SourceRecord.objects.filter(pk__in=pks).order_by("pk")
    if not dry_run:
        rows = rows.select_for_update()
    now = timezone.now()
    changed = []
    for row in rows.values("id", "attributes", *_WRITTEN):
        report.examined += 1
        values = standardised_values(row["attributes"])
        if any(row[name] != value for name, value in values.items()):
            changed.append({**row, **values, "updated_at": now})
    report.changed += len(changed)
    if changed and not dry_run:
        bulk_sql.update_rows(SourceRecord, changed, _WRITTEN)
        source_record_history_write(
            SourceRecord.objects.filter(pk__in=[row["id"] for row in changed]),
            "~",
            REASON,
        )
