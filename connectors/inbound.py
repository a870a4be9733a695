"""Changes made in a target, brought in as updates of its source system.

A target that feeds a source system (DeliveryTarget.source_system) reports
its changes three ways: polling `changes_since` with the durable cursor
(`inbound_sync_target`), signed webhooks (connectors/webhooks_in.py), and the
inbound half of a three-way merge (connectors/broadcast.py). All of them end
in `remote_change_apply`:

* an **echo** of our own write (the record hashes to what we pushed, or
  still carries the version our push left) is ignored;
* a genuine edit is upserted as the system's source record, keyed by
  `Connector.source_id`, through the ingestion service, so survivorship
  and matching run as for a REST push. A remote record we created for a
  golden record, and that has no source record yet, joins that golden
  record directly (it *is* that customer; matching could only guess).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from django.db import transaction

from connectors.base import Connector, RemoteRecord, payload_hash
from mdm.models import (
    CrossReference,
    DeliveryTarget,
    GoldenRecord,
    RemoteLink,
    SourceRecord,
    SourceSystem,
)
from mdm.models.audit import AuditEvent
from mdm.services import audit
from mdm.services.errors import DomainError
from mdm.services.golden_records import golden_record_link, golden_record_recompute
from mdm.services.ingestion import record_ingest
from mdm.services.source_records import clean_source_id, source_record_upsert

logger = logging.getLogger(__name__)

ECHO, APPLIED, SKIPPED, FAILED = "echo", "applied", "skipped", "failed"
MAX_PAGES = 100


def remote_change_is_echo(link: RemoteLink | None, record: RemoteRecord) -> bool:
    """Is `record` what our last push left in the target?"""
    if link is None:
        return False
    if link.pushed_hash and payload_hash(record.fields) == link.pushed_hash:
        return True
    return bool(record.remote_version) and record.remote_version == link.remote_version


def remote_change_apply(
    *,
    target: DeliveryTarget,
    record: RemoteRecord,
    source_id: str,
    echo_check: bool = True,
) -> str:
    """Bring one remote record in (see the module doc); returns "echo",
    "applied", "skipped" (deleted, or no source system) or "failed" (the
    ingestion refused the payload; logged)."""
    system = target.source_system
    if system is None or record.deleted:
        return SKIPPED
    link = RemoteLink.objects.filter(target=target, remote_id=record.remote_id).first()
    if echo_check and remote_change_is_echo(link, record):
        return ECHO
    payload = dict(record.fields)
    try:
        source_id = clean_source_id(source_id)
        golden = _linked_golden(link, system=system, source_id=source_id)
        if golden is None:
            record_ingest(system=system, source_id=source_id, payload=payload)
        else:
            _ingest_linked(
                system=system, source_id=source_id, payload=payload, golden=golden
            )
    except DomainError as exc:
        logger.warning(
            "inbound %s record %s refused: %s", target.name, record.remote_id, exc
        )
        return FAILED
    return APPLIED


def _linked_golden(
    link: RemoteLink | None, *, system: SourceSystem, source_id: str
) -> GoldenRecord | None:
    if link is None:
        return None
    if SourceRecord.objects.filter(source_system=system, source_id=source_id).exists():
        return None
    return GoldenRecord.objects.filter(
        golden_id=link.golden_id, status=GoldenRecord.Status.ACTIVE
    ).first()


@audit.audited(AuditEvent.Action.RECORD_UPSERT, on=audit.ref_source_key)
@transaction.atomic
def _ingest_linked(
    *,
    system: SourceSystem,
    source_id: str,
    payload: dict[str, Any],
    golden: GoldenRecord,
) -> GoldenRecord:
    record = source_record_upsert(
        system=system, source_id=source_id, payload=payload
    ).record
    golden_record_link(
        record=record, golden=golden, method=CrossReference.Method.AUTO_MATCH
    )
    return golden_record_recompute(
        golden=golden, reason=f"{record.key} edited in {system.code}"
    )


def inbound_sync_target(*, target_id: int, connector: Connector) -> Counter[str]:
    """Poll one target's changes from its stored cursor until it reports no
    more (at most MAX_PAGES pages). Each page is applied and the cursor
    advanced in one transaction, so a crash re-reads at most one page
    (applying a change twice is harmless: the upsert sees no change).
    Returns counts by outcome, and "pages"."""
    counts: Counter[str] = Counter()
    cursor = DeliveryTarget.objects.get(pk=target_id).inbound_cursor or None
    for _page in range(MAX_PAGES):
        page = connector.changes_since(cursor)
        with transaction.atomic():
            target = DeliveryTarget.objects.select_for_update().get(pk=target_id)
            if (target.inbound_cursor or None) != cursor:
                break  # another poller got there first
            for record in page.records:
                counts[
                    remote_change_apply(
                        target=target,
                        record=record,
                        source_id=connector.source_id(record),
                    )
                ] += 1
            target.inbound_cursor = page.next_cursor
            target.save(update_fields=["inbound_cursor"])
        counts["pages"] += 1
        cursor = page.next_cursor
        if not page.more:
            break
    return counts
