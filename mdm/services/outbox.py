"""Writing outbox events and the deliveries they make due.

Delivery to ERP, CRM and webhooks reads them later (connectors/); writing
them inside the change's transaction means a committed change always has
its event and one delivery per subscribed target, and a rolled-back change
has neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction

from mdm.id_card import ATTRIBUTES
from mdm.models import (
    CrossReference,
    Delivery,
    DeliveryTarget,
    GoldenRecord,
    OutboxEvent,
)


def outbox_emit(
    *,
    topic: str,
    golden: GoldenRecord,
    extra: dict[str, Any] | None = None,
    members: Sequence[tuple[str, str]] | None = None,
) -> OutboxEvent:
    """Record that `golden` changed, and make it due at every enabled target
    subscribed to `topic`; must run inside the writing transaction.

    `members`: (system code, source ID) of every member, in the order the
    query below gives, when the caller holds them; read otherwise."""
    _require_transaction()
    if members is None:
        members = (
            CrossReference.objects.filter(golden=golden)
            .order_by("source_record__source_system__code", "source_record__source_id")
            .values_list(
                "source_record__source_system__code", "source_record__source_id"
            )
        )
    event = OutboxEvent.objects.create(**_event_fields(topic, golden, members, extra))
    outbox_schedule_deliveries(events=[event])
    return event


def outbox_emit_many(
    *, topic: str, changes: Sequence[tuple[GoldenRecord, Sequence[tuple[str, str]]]]
) -> list[OutboxEvent]:
    """`outbox_emit` for many golden records at once, each given with its
    members in the order `outbox_emit` reads them: one INSERT of the events,
    one read of the targets and one INSERT of the deliveries."""
    _require_transaction()
    if not connection.features.can_return_rows_from_bulk_insert:
        # SQLite before 3.35 gives no keys back from a bulk INSERT.
        return [
            outbox_emit(topic=topic, golden=golden, members=members)
            for golden, members in changes
        ]
    events = OutboxEvent.objects.bulk_create(
        OutboxEvent(**_event_fields(topic, golden, members, None))
        for golden, members in changes
    )
    outbox_schedule_deliveries(events=events)
    return events


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_emit must run inside the change's transaction")


def _event_fields(
    topic: str,
    golden: GoldenRecord,
    members: Iterable[tuple[str, str]],
    extra: dict[str, Any] | None,
) -> dict[str, Any]:
    payload = {
        "golden_id": golden.golden_id,
        "version": golden.version,
        "status": golden.status,
        "id_card": {name: getattr(golden, name) for name in ATTRIBUTES},
        "members": [{"system": system, "source_id": sid} for system, sid in members],
        **(extra or {}),
    }
    if topic == OutboxEvent.Topic.MERGED:
        # loser -> winner, so a receiver can re-point what it holds for them.
        payload["redirects"] = {
            absorbed: golden.golden_id for absorbed in payload.get("absorbed", ())
        }
    return {
        "topic": topic,
        "golden_id": golden.golden_id,
        "version": golden.version,
        "payload": payload,
    }


def outbox_schedule_deliveries(*, events: Sequence[OutboxEvent]) -> list[Delivery]:
    """One pending delivery of each event per enabled target subscribed to
    its topic (suspended targets too: they get it when resumed)."""
    targets = list(DeliveryTarget.objects.filter(enabled=True).only("pk", "topics"))
    return Delivery.objects.bulk_create(
        Delivery(
            target=target,
            event=event,
            golden_id=event.golden_id,
            version=event.version,
            topic=event.topic,
            idempotency_key=outbox_idempotency_key(event.pk),
            next_attempt_at=event.created_at,
        )
        for event in events
        for target in targets
        if target.subscribes_to(event.topic)
    )


def outbox_idempotency_key(event_id: int) -> str:
    """The id receivers deduplicate on (webhook-id, Idempotency-Key)."""
    return f"evt_{event_id}"
