"""Ingesting one source record: upsert, then match it the moment it arrives.

Above the auto-merge threshold the record joins the candidate's golden record;
in the review band it gets a golden record of its own and a review task; below,
a golden record of its own. A changed record that is already linked stays in
its golden record, which is recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from mdm.models import CrossReference, GoldenRecord, SourceRecord, SourceSystem
from mdm.models.audit import AuditEvent
from mdm.services import audit
from mdm.services.errors import DomainError
from mdm.services.golden_records import (
    golden_record_create,
    golden_record_link,
    golden_record_recompute,
    golden_record_refresh,
)
from mdm.services.realtime_matching import MatchOutcome, source_record_match
from mdm.services.review_queue import review_task_open
from mdm.services.source_records import source_record_upsert


@dataclass(frozen=True)
class IngestResult:
    record: SourceRecord
    outcome: str  # created | updated | unchanged
    golden: GoldenRecord
    match: MatchOutcome | None  # None when the record kept its existing link

    @property
    def match_summary(self) -> dict[str, Any] | None:
        return None if self.match is None else self.match.as_dict()


@audit.audited(AuditEvent.Action.RECORD_UPSERT, on=audit.ref_source_key)
@transaction.atomic
def record_ingest(
    *, system: SourceSystem, source_id: str, payload: Mapping[str, Any] | str | bytes
) -> IngestResult:
    """Upsert one record and place it under a golden record (see module doc)."""
    # Every write below is part of this one transaction and any error ends
    # it, so the services are called without savepoints of their own.
    upsert = source_record_upsert(
        system=system, source_id=source_id, payload=payload, savepoint=False
    )
    record = upsert.record
    created = upsert.outcome == "created"
    xref = (
        None
        if created  # a record created just now has no link yet
        else CrossReference.objects.select_related("golden")
        .filter(source_record=record)
        .first()
    )
    if xref is not None:
        golden = xref.golden
        if upsert.outcome != "unchanged":
            golden = golden_record_refresh(
                golden=golden, reason=f"{record.key} {upsert.outcome}", savepoint=False
            )
        return IngestResult(
            record=record, outcome=upsert.outcome, golden=golden, match=None
        )
    match = source_record_match(record, created=created)
    golden = _placed(record, match, created=created)
    return IngestResult(
        record=record, outcome=upsert.outcome, golden=golden, match=match
    )


@transaction.atomic
def source_record_place(*, record_id: int) -> MatchOutcome | None:
    """Match an active record that has no golden record yet (loaded by an
    import) and place it as `record_ingest` places a new one; None when it is
    inactive or already placed by the time its row lock is held."""
    record = (
        SourceRecord.objects.select_for_update(of=("self",))
        .select_related("source_system")
        .filter(pk=record_id, is_active=True)
        .first()
    )
    # Looked at once the row is locked: an ingest of the same record that
    # placed it meanwhile has committed by then.
    if record is None or CrossReference.objects.filter(source_record=record).exists():
        return None
    match = source_record_match(record)
    _placed(record, match, created=False)
    return match


def _placed(
    record: SourceRecord, match: MatchOutcome, *, created: bool
) -> GoldenRecord:
    """Link an unplaced `record` as `match` decides; its golden record.

    `created`: the record was created in this transaction."""
    if match.decision == MatchOutcome.AUTO_MERGE:
        golden = match.best.golden
        golden_record_link(
            record=record,
            golden=golden,
            method=CrossReference.Method.AUTO_MATCH,
            score=match.best.score,
            record_new=created,
            savepoint=False,
        )
        golden = golden_record_recompute(
            golden=golden,
            reason=f"{record.key} matched ({match.best.score:.3f})",
            savepoint=False,
        )
    else:
        golden = golden_record_create(
            members=[record], members_new=created, savepoint=False
        )
    if match.decision == MatchOutcome.REVIEW:
        for candidate in match.review_candidates:
            review_task_open(
                a=record,
                b=candidate.record,
                score=candidate.score,
                evidence=candidate.evidence,
            )
    return golden


@audit.audited(
    AuditEvent.Action.RECORD_BATCH,
    on="system",
    describe=audit.describe_batch,
    atomic=False,  # each record commits on its own
)
def record_ingest_batch(
    *, system: SourceSystem, items: Iterable[Mapping[str, Any]]
) -> list[IngestResult | dict[str, Any]]:
    """Ingest each item in its own transaction; a broken item yields an error
    entry ({"index", "source_id", "detail"}) and the others still go in."""
    results: list[IngestResult | dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            results.append(
                record_ingest(
                    system=system, source_id=item["source_id"], payload=item["payload"]
                )
            )
        except DomainError as exc:
            results.append(
                {"index": index, "source_id": item.get("source_id"), "detail": str(exc)}
            )
    return results
