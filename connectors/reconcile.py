"""Reconciliation: compare every linked remote record with what we pushed
and repair the drift that webhooks and polling missed.

For each link of a target (state linked, remote ID known) the remote
record is read again (outside any transaction; `Connector.read_many`, so as
many records per call as the target's batch read takes) and then, in one
short transaction per link:

* gone -> the link is marked deleted and a steward task opened (never
  re-created silently);
* hashes equal -> in sync;
* otherwise the three-way rule decides, with the golden record's latest
  delivered snapshot as "ours": fields only they changed are an inbound
  update (and become the new base); fields we must push, or that a steward
  must decide, queue the golden record's latest delivery again, and the
  worker's merge does the rest (connectors/conflicts.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import islice

from django.db import transaction
from django.utils import timezone

from connectors.base import Connector, ConnectorError, RemoteRecord, payload_hash
from connectors.broadcast import delivery_message, link_record
from connectors.inbound import remote_change_apply
from connectors.three_way import ownership_of, three_way_merge
from mdm.models import Delivery, DeliveryTarget, RemoteLink, SyncConflict
from mdm.services.sync_conflicts import sync_conflict_open

IN_SYNC, INBOUND, REQUEUED, MISSING, ERRORS = (
    "in_sync",
    "inbound",
    "requeued",
    "missing",
    "errors",
)


def links_reconcile(*, target_id: int, connector: Connector) -> Counter[str]:
    """Check every linked record of one target (see the module doc);
    returns counts: checked, in_sync, inbound, requeued, missing, errors."""
    counts: Counter[str] = Counter()
    links = (
        RemoteLink.objects.filter(target_id=target_id, state=RemoteLink.State.LINKED)
        .exclude(remote_id="")
        .order_by("pk")
        .values_list("pk", "remote_id")
    )
    for chunk in _chunks(links.iterator(), connector.read_batch_size):
        counts["checked"] += len(chunk)
        try:
            records = connector.read_many([remote_id for _pk, remote_id in chunk])
        except ConnectorError:
            counts[ERRORS] += len(chunk)
            continue
        for link_id, remote_id in chunk:
            with transaction.atomic():
                counts[
                    link_reconcile(
                        link_id=link_id,
                        record=records.get(remote_id),
                        connector=connector,
                    )
                ] += 1
    return counts


def _chunks(
    rows: Iterator[tuple[int, str]], size: int
) -> Iterator[list[tuple[int, str]]]:
    while chunk := list(islice(rows, max(1, size))):
        yield chunk


def link_reconcile(
    *, link_id: int, record: RemoteRecord | None, connector: Connector
) -> str:
    """Repair one link against the remote record just read (None: gone)."""
    link = (
        RemoteLink.objects.select_for_update().select_related("target").get(pk=link_id)
    )
    if record is None or record.deleted:
        link.state = RemoteLink.State.REMOTE_DELETED
        link.updated_at = timezone.now()
        link.save()
        sync_conflict_open(
            target_id=link.target_id,
            golden_id=link.golden_id,
            kind=SyncConflict.Kind.REMOTE_DELETED,
            remote_id=link.remote_id,
            detail="not found by reconciliation",
        )
        return MISSING
    if payload_hash(record.fields) == link.pushed_hash:
        return IN_SYNC
    latest = _latest_delivery(link)
    if latest is None:
        return IN_SYNC  # nothing of ours to compare with
    message = delivery_message(latest, {link.golden_id: link_record(link.target, link)})
    merge = three_way_merge(
        base=link.pushed,
        ours=connector.map_outbound(message, remote=record.fields),
        theirs=record.fields,
        ownership=ownership_of(connector.mapping),
    )
    if merge.push or merge.conflicts:
        return _requeue(link, latest)
    if merge.inbound:
        remote_change_apply(
            target=link.target,
            record=record,
            source_id=connector.source_id(record),
            echo_check=False,
        )
    # Their record is now the base: its next poll is an echo, not news.
    link.pushed = dict(record.fields)
    link.pushed_hash = payload_hash(link.pushed)
    link.remote_version = record.remote_version
    link.updated_at = timezone.now()
    link.save()
    return INBOUND if merge.inbound else IN_SYNC


def _latest_delivery(link: RemoteLink) -> Delivery | None:
    return (
        Delivery.objects.filter(target_id=link.target_id, golden_id=link.golden_id)
        .select_related("event")
        .order_by("-id")
        .first()
    )


def _requeue(link: RemoteLink, latest: Delivery) -> str:
    if latest.state not in Delivery.OPEN_STATES:
        Delivery.objects.filter(pk=latest.pk).update(
            state=Delivery.State.PENDING,
            attempts=0,
            first_attempt_at=None,
            next_attempt_at=timezone.now(),
            lease_token=None,
            lease_expires_at=None,
        )
    # The worker must compare fields: the version our push left is stale.
    link.remote_version = ""
    link.save(update_fields=["remote_version"])
    return REQUEUED


def targets_reconcilable() -> list[DeliveryTarget]:
    """Enabled targets that have links to check."""
    return list(
        DeliveryTarget.objects.filter(enabled=True, links__isnull=False)
        .distinct()
        .order_by("name")
    )
