"""Reads for the delivery operations page: how each target is doing, and
the recent deliveries with their attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet

from mdm.models import Delivery, DeliveryAttempt, DeliveryTarget

State = Delivery.State


@dataclass(frozen=True)
class TargetHealth:
    target: DeliveryTarget
    due: int
    in_flight: int
    delivered: int
    dead: int
    conflict: int
    # The circuit as the workers will see it now: an open circuit whose
    # cool-down has passed lets one trial call through.
    breaker: str
    paused: bool
    suspended: bool


def _count(state: str) -> Count:
    return Count("deliveries", filter=Q(deliveries__state=state))


def delivery_target_health(*, now: datetime) -> list[TargetHealth]:
    """Every target, with its deliveries counted per state (one query)."""
    targets = DeliveryTarget.objects.annotate(
        n_due=_count(State.PENDING),
        n_in_flight=_count(State.IN_FLIGHT),
        n_delivered=_count(State.DELIVERED),
        n_dead=_count(State.DEAD),
        n_conflict=_count(State.CONFLICT),
    ).order_by("name")
    rows = []
    for target in targets:
        breaker = target.breaker_state
        if (
            breaker == DeliveryTarget.Breaker.OPEN
            and target.breaker_open_until is not None
            and target.breaker_open_until <= now
        ):
            breaker = DeliveryTarget.Breaker.HALF_OPEN
        rows.append(
            TargetHealth(
                target=target,
                due=target.n_due,
                in_flight=target.n_in_flight,
                delivered=target.n_delivered,
                dead=target.n_dead,
                conflict=target.n_conflict,
                breaker=breaker,
                paused=target.paused_until is not None and target.paused_until > now,
                suspended=target.suspended_at is not None,
            )
        )
    return rows


def delivery_list(
    *, target_id: int | None = None, state: str | None = None
) -> QuerySet[Delivery]:
    """Deliveries newest first, optionally of one target and one state, each
    with its attempts (newest first) prefetched and counted in `n_attempts`
    (all of them: `attempts` restarts at 0 on a replay)."""
    deliveries = Delivery.objects.select_related("target")
    if target_id is not None:
        deliveries = deliveries.filter(target_id=target_id)
    if state:
        deliveries = deliveries.filter(state=state)
    return (
        deliveries.annotate(n_attempts=Count("attempt_log"))
        .prefetch_related(
            Prefetch(
                "attempt_log",
                queryset=DeliveryAttempt.objects.order_by("-attempted_at", "-pk"),
            )
        )
        .order_by("-created_at", "-pk")
    )
