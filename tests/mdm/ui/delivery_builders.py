"""Builders for the delivery operations page tests."""

from __future__ import annotations

from mdm.models import Delivery, DeliveryAttempt, DeliveryTarget, OutboxEvent


def make_file_target(name: str, path: str = "", **fields) -> DeliveryTarget:
    return DeliveryTarget.objects.create(
        name=name, kind="file", config={"path": path or f"/tmp/{name}.jsonl"}, **fields
    )


def make_delivery(
    target: DeliveryTarget, event: OutboxEvent | None = None, **fields
) -> Delivery:
    """A delivery of `event` (default: the latest outbox event) to `target`,
    as the outbox would have written it."""
    event = event or OutboxEvent.objects.latest("pk")
    delivery, _ = Delivery.objects.update_or_create(
        target=target,
        event=event,
        defaults={
            "golden_id": event.golden_id,
            "version": event.version,
            "topic": event.topic,
            "idempotency_key": f"evt_{event.pk}",
            **fields,
        },
    )
    return delivery


def make_dead_delivery(target: DeliveryTarget, **fields) -> Delivery:
    delivery = make_delivery(
        target,
        state=Delivery.State.DEAD,
        attempts=12,
        last_status=500,
        last_error="HTTP 500: upstream exploded",
        **fields,
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        outcome=DeliveryAttempt.Outcome.FAILED,
        status_code=500,
        duration_ms=37,
        error="HTTP 500: upstream exploded",
    )
    return delivery
