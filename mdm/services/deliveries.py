"""Operating deliveries: replaying dead letters and conflicts, resuming a
suspended target. (Sending them is the workers' job, in connectors/.)"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from mdm.models import Delivery, DeliveryTarget

REPLAYABLE = (Delivery.State.DEAD, Delivery.State.CONFLICT)


@transaction.atomic
def delivery_replay(*, deliveries: Iterable[Delivery]) -> int:
    """Send dead or conflicting deliveries again, with the same event id
    (receivers deduplicate on it) and a fresh retry budget. Returns how
    many were queued; deliveries in other states are left alone. A replay
    older than what the target already holds is dropped by the worker."""
    ids = [d.pk for d in deliveries]
    return Delivery.objects.filter(pk__in=ids, state__in=REPLAYABLE).update(
        state=Delivery.State.PENDING,
        attempts=0,
        first_attempt_at=None,
        next_attempt_at=timezone.now(),
        lease_token=None,
        lease_expires_at=None,
    )


@transaction.atomic
def delivery_target_resume(*, target: DeliveryTarget) -> DeliveryTarget:
    """Lift a suspension (410, broken configuration), close the circuit and
    clear a pause: the target's waiting deliveries flow again."""
    target = DeliveryTarget.objects.select_for_update().get(pk=target.pk)
    target.suspended_at = None
    target.suspended_reason = ""
    target.paused_until = None
    target.breaker_state = DeliveryTarget.Breaker.CLOSED
    target.breaker_open_until = None
    target.consecutive_failures = 0
    target.save()
    return target
