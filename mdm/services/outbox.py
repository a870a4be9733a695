"""Writing outbox events and the deliveries they make due.

Delivery to ERP, CRM and webhooks reads them later (connectors/); writing
them inside the change's transaction means a committed change always has
its event and one delivery per subscribed target, and a rolled-back change
has neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

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
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_emit must run inside the change's transaction")
    if members is None:
        members = (
            CrossReference.objects.filter(golden=golden)
            .order_by("source_record__source_system__code", "source_record__source_id")
            .values_list(
                "source_record__source_system__code", "source_record__source_id"
            )
        )
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
    event = OutboxEvent.objects.create(
        topic=topic, golden_id=golden.golden_id, version=golden.version, payload=payload
    )
    outbox_schedule_deliveries(event=event)
    return event


def outbox_schedule_deliveries(*, event: OutboxEvent) -> list[Delivery]:
    """One pending delivery of `event` per enabled target subscribed to its
    topic (suspended targets too: they get it when resumed)."""
    targets = [
        target
        for target in DeliveryTarget.objects.filter(enabled=True).only("pk", "topics")
        if target.subscribes_to(event.topic)
    ]
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
        for target in targets
    )


def outbox_idempotency_key(event_id: int) -> str:
    """The id receivers deduplicate on (webhook-id, Idempotency-Key)."""
    return f"evt_{event_id}"
