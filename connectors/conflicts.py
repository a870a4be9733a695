"""What the delivery worker does when a push meets a conflict.

`conflict_merge` re-reads the remote record, merges three ways and pushes
the merge against the version just read; it runs outside any transaction
(it calls the target). The worker then records the outcome
(connectors/broadcast.py) with `conflict_record_merge` (close a settled
task, bring in the fields only they changed) or `conflict_open_task` (a
steward decides). `conflict_held` keeps deliveries of a record deleted in
the target from being sent until a steward has decided.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction

from connectors.base import (
    ConflictError,
    Connector,
    ConnectorError,
    LinkRecord,
    LinkUpdate,
    OutboundMessage,
    RemoteDeletedError,
    RemoteRecord,
    RetryableError,
)
from connectors.inbound import remote_change_apply
from connectors.three_way import MergeResult, ownership_of, three_way_merge
from mdm.models import Delivery, DeliveryTarget, SyncConflict
from mdm.services.sync_conflicts import sync_conflict_open, sync_conflict_settle

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Merged:
    """A conflict the merge settled: the link updates of the merged push,
    and the remote record when some of its fields are an inbound update."""

    updates: Sequence[LinkUpdate]
    merge: MergeResult
    theirs: RemoteRecord
    source_id: str


class UnresolvedConflict(ConflictError):
    """Fields changed on both sides that ownership does not settle: a
    steward decides. Nothing was written."""

    def __init__(self, message: str, *, theirs: RemoteRecord, merge: MergeResult):
        super().__init__(message, detail=", ".join(sorted(merge.conflicts)))
        self.theirs = theirs
        self.merge = merge


def conflict_merge(
    connector: Connector, message: OutboundMessage
) -> Merged | ConnectorError:
    """Settle a ConflictError met by `message` (see the module doc); returns
    what to record: the merge, an UnresolvedConflict, or another error."""
    try:
        theirs = connector.find(message)
    except ConnectorError as exc:
        return exc
    if theirs is None:
        return RemoteDeletedError(
            f"the {connector.kind} record of {message.golden_id} is gone"
        )
    base = message.link.pushed if message.link else {}
    merge = three_way_merge(
        base=base,
        ours=connector.map_outbound(message, remote=theirs.fields),
        theirs=theirs.fields,
        ownership=ownership_of(connector.mapping),
    )
    if merge.conflicts:
        return UnresolvedConflict(
            f"{theirs.remote_id}: changed on both sides, a steward decides: "
            + ", ".join(sorted(merge.conflicts)),
            theirs=theirs,
            merge=merge,
        )
    try:
        updates = connector.deliver_merged(
            message, expected_version=theirs.remote_version, keep=merge.keep
        )
    except RemoteDeletedError as exc:
        return exc
    except ConflictError as exc:
        # Edited again between our read and our write: merge again later.
        return RetryableError(f"changed again while merging: {exc}", detail=exc.detail)
    except ConnectorError as exc:
        return exc
    return Merged(
        updates=updates,
        merge=merge,
        theirs=theirs,
        source_id=connector.source_id(theirs),
    )


def conflict_held(target: DeliveryTarget, golden_ids: Iterable[str]) -> set[str]:
    """Golden IDs whose remote record was deleted and a steward has not yet
    said what to do: nothing is sent for them (no silent re-creation)."""
    return set(
        SyncConflict.objects.filter(
            target=target,
            golden_id__in=list(golden_ids),
            state=SyncConflict.State.OPEN,
            kind=SyncConflict.Kind.REMOTE_DELETED,
        ).values_list("golden_id", flat=True)
    )


def conflict_record_merge(delivery: Delivery, merged: Merged) -> None:
    """After a merged push: close a conflict the merge settled, and bring
    in the fields only they changed (their source record, survivorship)."""
    sync_conflict_settle(target_id=delivery.target_id, golden_id=delivery.golden_id)
    if not merged.merge.inbound:
        return
    try:
        with transaction.atomic():
            remote_change_apply(
                target=delivery.target,
                record=merged.theirs,
                source_id=merged.source_id,
                echo_check=False,
            )
    except Exception:
        # The push is done and must be recorded. Their change stays in the
        # target, but polling now sees an echo: an operator must re-send it.
        logger.exception("inbound update of %s failed", delivery.golden_id)


def conflict_open_task(
    delivery: Delivery, error: ConflictError, *, link: LinkRecord | None
) -> None:
    """Open (or refresh) the steward task for a conflict that stands."""
    if isinstance(error, RemoteDeletedError):
        kind, fields, version = SyncConflict.Kind.REMOTE_DELETED, {}, ""
    elif isinstance(error, UnresolvedConflict):
        kind, version = SyncConflict.Kind.CONFLICT, error.theirs.remote_version
        fields = {
            path: {"base": c.base, "ours": c.ours, "theirs": c.theirs}
            for path, c in error.merge.conflicts.items()
        }
    else:
        kind, fields, version = SyncConflict.Kind.CONFLICT, {}, ""
    sync_conflict_open(
        target_id=delivery.target_id,
        golden_id=delivery.golden_id,
        kind=kind,
        delivery=delivery,
        remote_id=link.remote_id if link else "",
        remote_version=version,
        fields=fields,
        detail=str(error),
    )
