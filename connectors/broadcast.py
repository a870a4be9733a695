"""Delivering outbox events to targets: the worker's logic.

One pass (`broadcast_run_once`) visits every active target and, for each:

1. **claims** up to a batch of due deliveries, one per (target, golden ID):
   only the oldest open delivery of a key may be claimed, and only when no
   other delivery of that key is in flight, so each key is strictly
   ordered while other keys flow. The claim is a lease (token + expiry):
   work of a worker that died is claimed again once its lease expires.
   PostgreSQL claims with SELECT … FOR UPDATE SKIP LOCKED, so workers on
   several machines never wait for one another; SQLite claims with one
   UPDATE … WHERE id IN (…) inside an IMMEDIATE transaction, which SQLite
   runs one at a time.
2. **coalesces**: newer pending deliveries of a claimed key are folded
   into it, so only the latest snapshot is sent (a merge, unmerge, split or
   retirement is never folded away: the chain stops there).
3. **sends** outside any transaction through the target's connector,
   each call on a lease renewed just before it (a worker that stalled past
   its lease sends nothing: another may already have sent a newer version),
   and
4. **records** each outcome in its own short transaction, but only if the
   lease is still ours: delivered; retry later (capped exponential backoff
   with full jitter, at least Retry-After); dead letter once the retry
   budget is spent or the error is permanent; conflict; target paused
   (429), suspended (410) or its circuit opened (consecutive failures).

A conflict (the remote record changed since our push) is first merged
three ways (connectors/conflicts.py): what ownership settles is pushed and
delivered, fields only the target changed come in as an inbound update;
only what a steward must decide, or a record deleted in the target, parks
the delivery as a conflict with a steward task (mdm.SyncConflict). While a
deletion task is open, that golden ID's deliveries are not sent.

Per-target rate limits and circuit-breaker state live on the target row, so
they hold across all workers.
"""

from __future__ import annotations

import logging
import math
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from connectors.backoff import backoff_delay, retry_budget_spent
from connectors.base import (
    ConflictError,
    Connector,
    ConnectorError,
    EndpointGoneError,
    LinkRecord,
    LinkUpdate,
    OutboundMessage,
    RateLimitedError,
    RemoteDeletedError,
    RetryableError,
    TargetConfig,
    payload_hash,
)
from connectors.conflicts import (
    Merged,
    conflict_held,
    conflict_merge,
    conflict_open_task,
    conflict_record_merge,
)
from connectors.registry import connector_class
from mdm.env import env_secret
from mdm.models import Delivery, DeliveryAttempt, DeliveryTarget, RemoteLink
from mdm.services import bulk_sql
from mdm.services.outbox import outbox_idempotency_key

logger = logging.getLogger(__name__)
alerts = logging.getLogger("golden_record.alerts")

# Topics whose message says no more than its snapshot: a newer snapshot of
# the same golden ID may replace them. Merges, unmerges, splits and
# retirements carry more (absorbed IDs, redirects) and are always sent.
COALESCIBLE_TOPICS = frozenset({"golden.created", "golden.updated"})
State = Delivery.State


class TargetNotReady(Exception):
    """The target cannot be used as configured (e.g. a secret is missing)."""


@dataclass
class Worker:
    """One delivery worker's identity, clock and connector cache.

    `clock` and `rng` are injectable so tests can drive time and jitter.
    """

    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    clock: Callable[[], datetime] = timezone.now
    rng: Callable[[], float] = random.random
    lease: timedelta = field(
        default_factory=lambda: timedelta(
            seconds=getattr(settings, "DELIVERY_LEASE_SECONDS", 300)
        )
    )
    _connectors: dict[int, tuple[tuple, Connector]] = field(default_factory=dict)

    def connector(self, target: DeliveryTarget) -> Connector:
        signature = (
            target.kind,
            repr(target.config),
            repr(target.secret_env),
            target.timeout_seconds,
        )
        cached = self._connectors.get(target.pk)
        if cached is not None and cached[0] == signature:
            return cached[1]
        if cached is not None:
            cached[1].close()
        built = connector_class(target.kind)(target_config(target))
        self._connectors[target.pk] = (signature, built)
        return built

    def close(self) -> None:
        for _signature, built in self._connectors.values():
            built.close()
        self._connectors.clear()


@dataclass(frozen=True)
class Claim:
    delivery: Delivery
    message: OutboundMessage


def target_config(target: DeliveryTarget) -> TargetConfig:
    """The connector's view of `target`, secrets read from the environment."""
    secrets = {}
    for name, variable in (target.secret_env or {}).items():
        value = env_secret(variable)
        if not value:
            raise TargetNotReady(
                f"secret {name}: environment variable {variable} is not set"
            )
        secrets[name] = value
    return TargetConfig(
        name=target.name,
        kind=target.kind,
        config=target.config or {},
        secrets=secrets,
        timeout=target.timeout_seconds,
        allowed_networks=tuple(getattr(settings, "CONNECTOR_ALLOWED_NETWORKS", ())),
    )


def broadcast_run_once(*, worker: Worker, targets: Iterable[int] | None = None) -> int:
    """One pass over the active targets; returns how many deliveries were
    attempted (0: nothing was due)."""
    queryset = DeliveryTarget.objects.filter(enabled=True, suspended_at__isnull=True)
    if targets is not None:
        queryset = queryset.filter(pk__in=list(targets))
    done = 0
    for target_id in queryset.order_by("pk").values_list("pk", flat=True):
        done += broadcast_target(target_id=target_id, worker=worker)
    return done


def broadcast_target(*, target_id: int, worker: Worker) -> int:
    """Claim, send and record one batch for one target."""
    target, claims = delivery_claim(target_id=target_id, worker=worker)
    if not claims:
        return 0
    return claims_deliver(target=target, claims=claims, worker=worker)


def claims_deliver(
    *, target: DeliveryTarget, claims: list[Claim], worker: Worker
) -> int:
    """Send claimed deliveries and record their outcomes; returns how many
    were sent (a claim whose lease was lost before its turn is not)."""
    try:
        connector = worker.connector(target)
    except (TargetNotReady, ConnectorError, KeyError, ImportError) as exc:
        target_suspend(target=target, reason=f"cannot build the connector: {exc}")
        for claim in claims:
            _release(claim, worker=worker)
        return 0
    batch = max(1, min(connector.capabilities.batch_size, target.batch_size))
    chunks = _chunks(claims, batch, connector.capabilities.concurrency)
    sent = 0
    # Outcomes are recorded together at the end of the claim (or at the
    # first failure, which may block the target): one transaction for a
    # healthy claim however many calls the connector needed.
    outcomes: list[tuple[Claim, Result, int]] = []
    for position, chunk in enumerate(chunks):
        chunk = _lease_renew(chunk, worker=worker)
        if not chunk:
            continue
        started = time.monotonic()
        results = _send_settled(
            connector,
            chunk,
            batch > 1,
            held=conflict_held(target, (c.message.golden_id for c in chunk)),
        )
        elapsed_ms = int((time.monotonic() - started) * 1000 / len(chunk))
        outcomes += [(c, r, elapsed_ms) for c, r in zip(chunk, results, strict=True)]
        sent += len(chunk)
        if any(isinstance(result, Exception) for result in results):
            delivery_record_many(sent=outcomes, worker=worker)
            outcomes = []
            rest = [claim for later in chunks[position + 1 :] for claim in later]
            if rest and _blocked(target.pk, worker.clock()):
                # 410, 429 or an open circuit: the rest of the batch waits.
                for claim in rest:
                    _release(claim, worker=worker)
                break
    if outcomes:
        delivery_record_many(sent=outcomes, worker=worker)
    return sent


def _chunks(claims: list[Claim], batch: int, concurrency: int) -> list[list[Claim]]:
    """The calls to make: batches of `batch`; without batching, the first
    claim alone (a target that fails it gets no more) and then groups of
    `concurrency` single calls sent together (a claim holds one delivery per
    golden ID, so the order per key holds)."""
    if batch > 1 or concurrency <= 1:
        return [claims[i : i + batch] for i in range(0, len(claims), batch)]
    return [claims[:1]] + [
        claims[i : i + concurrency] for i in range(1, len(claims), concurrency)
    ]


def _blocked(target_id: int, now: datetime) -> bool:
    target = DeliveryTarget.objects.get(pk=target_id)
    return (
        target.suspended_at is not None
        or (target.paused_until is not None and target.paused_until > now)
        or target.breaker_state == DeliveryTarget.Breaker.OPEN
    )


def _send_settled(
    connector: Connector, chunk: Sequence[Claim], batched: bool, *, held: set[str]
) -> list[Result]:
    """Send the claims not held; a conflict goes through the three-way merge
    (connectors/conflicts.py) before its outcome is recorded."""
    ready = [claim for claim in chunk if claim.message.golden_id not in held]
    sent = iter(_send(connector, ready, batched) if ready else ())
    results: list[Result] = []
    for claim in chunk:
        link = claim.message.link
        if claim.message.golden_id in held:
            results.append(
                RemoteDeletedError(
                    "the remote record was deleted; waiting for a steward",
                    archived=link is not None
                    and link.state == RemoteLink.State.REMOTE_ARCHIVED,
                )
            )
            continue
        result = next(sent)
        if isinstance(result, ConflictError) and not isinstance(
            result, RemoteDeletedError
        ):
            try:
                result = conflict_merge(connector, claim.message)
            except NotImplementedError:
                pass  # the target cannot be read back: the conflict stands
            except Exception as exc:  # a connector bug must not kill the worker
                logger.exception("merge for %s failed", connector.target.name)
                result = exc
        results.append(result)
    return results


def _send(
    connector: Connector, chunk: Sequence[Claim], batched: bool
) -> list[Sequence[LinkUpdate] | ConnectorError | Exception]:
    messages = [claim.message for claim in chunk]
    if batched:
        try:
            return list(connector.deliver_many(messages))
        except ConnectorError as exc:
            return [exc] * len(messages)
        except Exception as exc:  # a connector bug must not kill the worker
            logger.exception("connector %s failed", connector.target.name)
            return [exc] * len(messages)
    if len(messages) == 1:
        return [_deliver_one(connector, messages[0])]
    with ThreadPoolExecutor(len(messages), thread_name_prefix="deliver") as pool:
        return list(pool.map(partial(_deliver_one, connector), messages))


def _deliver_one(
    connector: Connector, message: OutboundMessage
) -> Sequence[LinkUpdate] | ConnectorError | Exception:
    try:
        return connector.deliver(message)
    except ConnectorError as exc:
        return exc
    except Exception as exc:  # a connector bug must not kill the worker
        logger.exception("connector %s failed", connector.target.name)
        return exc


# ---------------------------------------------------------------------------
# Claiming


def delivery_claim(
    *, target_id: int, worker: Worker
) -> tuple[DeliveryTarget, list[Claim]]:
    """Lease up to a batch of due deliveries of one target, coalesced."""
    with transaction.atomic():
        target = DeliveryTarget.objects.select_for_update().get(pk=target_id)
        # The clock is read once the target is ours: a worker that queued
        # behind the lock must not hand out a lease that is already past.
        now = worker.clock()
        limit = _allowance(target, now)
        if limit <= 0:
            return target, []
        token = uuid.uuid4()
        claimed = _lease(target, limit=limit, now=now, token=token, worker=worker)
        if not claimed:
            return target, []
        chosen = _coalesce(target, claimed, token=token, now=now)
        link_rows = _link_rows(target, chosen)
        chosen = _drop_stale(chosen, link_rows)
        if target.rate_limit_per_second > 0:
            start = max(target.rate_tat or now, now)
            target.rate_tat = start + timedelta(
                seconds=len(chosen) / target.rate_limit_per_second
            )
            target.save(update_fields=["rate_tat", "breaker_state"])
        elif target.breaker_state == DeliveryTarget.Breaker.HALF_OPEN:
            target.save(update_fields=["breaker_state"])
        links = {gid: link_record(target, link) for gid, link in link_rows.items()}
        return target, [Claim(d, delivery_message(d, links)) for d in chosen]


def _allowance(target: DeliveryTarget, now: datetime) -> int:
    """How many deliveries this target may take now (breaker, pause, rate)."""
    if not target.enabled or target.suspended_at is not None:
        return 0
    if target.paused_until and target.paused_until > now:
        return 0
    limit = max(1, target.batch_size)
    if target.breaker_state != DeliveryTarget.Breaker.CLOSED:
        if target.breaker_open_until and target.breaker_open_until > now:
            return 0
        # Half open: a single probe at a time decides whether to close.
        probing = Delivery.objects.filter(
            target=target, state=State.IN_FLIGHT, lease_expires_at__gt=now
        ).exists()
        if probing:
            return 0
        target.breaker_state = DeliveryTarget.Breaker.HALF_OPEN
        limit = 1
    if target.rate_limit_per_second > 0:
        rate = target.rate_limit_per_second
        burst = max(1.0, rate)  # one second's worth
        tat = max(target.rate_tat or now, now)
        allowed = math.floor(burst - (tat - now).total_seconds() * rate + 1e-9)
        limit = min(limit, allowed)
    return limit


def _claimable(target: DeliveryTarget, now: datetime):
    earlier_open = Delivery.objects.filter(
        target=OuterRef("target"),
        golden_id=OuterRef("golden_id"),
        id__lt=OuterRef("id"),
        state__in=Delivery.OPEN_STATES,
    )
    return (
        Delivery.objects.filter(target=target)
        .filter(
            Q(state=State.PENDING, next_attempt_at__lte=now)
            | Q(state=State.IN_FLIGHT, lease_expires_at__lte=now)
        )
        .exclude(Exists(earlier_open))
        .order_by("id")
    )


def _lease(
    target: DeliveryTarget,
    *,
    limit: int,
    now: datetime,
    token: uuid.UUID,
    worker: Worker,
) -> list[Delivery]:
    claimable = _claimable(target, now)
    if connection.features.has_select_for_update_skip_locked:
        ids = list(
            claimable.select_for_update(skip_locked=True, of=("self",)).values_list(
                "pk", flat=True
            )[:limit]
        )
        rows = Delivery.objects.filter(pk__in=ids)
    else:
        rows = Delivery.objects.filter(pk__in=claimable.values("pk")[:limit])
    rows.update(
        state=State.IN_FLIGHT,
        lease_token=token,
        lease_expires_at=now + worker.lease,
        leased_by=worker.name[:100],
    )
    return list(
        Delivery.objects.filter(lease_token=token)
        .select_related("event")
        .order_by("id")
    )


def _coalesce(
    target: DeliveryTarget,
    claimed: list[Delivery],
    *,
    token: uuid.UUID,
    now: datetime,
) -> list[Delivery]:
    """Fold newer pending deliveries of each claimed key into one: returns
    the deliveries to send (each holding the lease)."""
    by_key = {d.golden_id: d for d in claimed}
    newer: dict[str, list[Delivery]] = {}
    later = Delivery.objects.filter(
        target=target, golden_id__in=list(by_key), state=State.PENDING
    ).exclude(lease_token=token)
    if connection.features.has_select_for_update:
        later = later.select_for_update(of=("self",))
    for d in later.select_related("event").order_by("id"):
        if d.id > by_key[d.golden_id].id:
            newer.setdefault(d.golden_id, []).append(d)
    chosen: list[Delivery] = []
    changed: list[Delivery] = []
    for golden_id, first in by_key.items():
        current, folded = first, []
        for candidate in newer.get(golden_id, []):
            if current.topic not in COALESCIBLE_TOPICS:
                break
            folded.append(current)
            current = candidate
        lease_expires_at = first.lease_expires_at  # cleared below if folded
        for old in folded:
            old.state, old.superseded_by = State.SUPERSEDED, current
            old.lease_token = old.lease_expires_at = None
            changed.append(old)
        if current is not first:
            # The newest snapshot takes over the key's place in the retry
            # schedule: a flood of updates must not reset the budget. It
            # takes the lease too, expiry included: without one, a worker
            # dying now would leave it in flight for ever.
            current.state = State.IN_FLIGHT
            current.lease_token = token
            current.lease_expires_at = lease_expires_at
            current.leased_by = first.leased_by
            current.attempts = first.attempts
            changed.append(current)
        current.attempts += 1
        current.first_attempt_at = first.first_attempt_at or now
        current._folded_events = [d.event_id for d in folded]
        if current is first:
            changed.append(current)
        chosen.append(current)
    _update_rows(changed, _LEASE_FIELDS)
    return sorted(chosen, key=lambda d: d.id)


# The delivery fields claiming and coalescing write.
_LEASE_FIELDS = (
    "state",
    "superseded_by",
    "lease_token",
    "lease_expires_at",
    "leased_by",
    "attempts",
    "first_attempt_at",
)


def _update_rows(
    objects: Sequence[Delivery | RemoteLink], fields: Sequence[str]
) -> None:
    """Save `fields` of each object in one executemany (Django's bulk_update
    builds a CASE per column and row: it cost more than the HTTP calls)."""
    if not objects:
        return
    model = type(objects[0])
    columns = ["id", *(model._meta.get_field(name).attname for name in fields)]
    bulk_sql.update_rows(
        model,
        [{column: getattr(obj, column) for column in columns} for obj in objects],
        fields,
    )


def _link_rows(target: DeliveryTarget, chosen: list[Delivery]) -> dict[str, RemoteLink]:
    wanted = set()
    for d in chosen:
        wanted.add(d.golden_id)
        wanted.update(d.event.payload.get("absorbed", ()))
    return {
        link.golden_id: link
        for link in RemoteLink.objects.filter(target=target, golden_id__in=wanted)
    }


def _drop_stale(chosen: list[Delivery], links: dict[str, RemoteLink]) -> list[Delivery]:
    """Never send a version older than one the target already has (a replay
    of an old dead letter, a lease that expired under a slow worker)."""
    keep, stale = [], []
    for d in chosen:
        link = links.get(d.golden_id)
        (stale if link is not None and link.last_version > d.version else keep).append(
            d
        )
    if stale:
        Delivery.objects.filter(pk__in=[d.pk for d in stale]).update(
            state=State.SUPERSEDED, lease_token=None, lease_expires_at=None
        )
    return keep


def link_record(target: DeliveryTarget, link: RemoteLink) -> LinkRecord:
    """The connector's read-only view of a link row."""
    return LinkRecord(
        golden_id=link.golden_id,
        target=target.name,
        remote_id=link.remote_id,
        remote_version=link.remote_version,
        pushed=link.pushed,
        pushed_hash=link.pushed_hash,
        state=link.state,
    )


def delivery_message(
    delivery: Delivery, links: dict[str, LinkRecord]
) -> OutboundMessage:
    """The message a connector gets for `delivery` (event loaded)."""
    event = delivery.event
    wanted = {delivery.golden_id, *event.payload.get("absorbed", ())}
    return OutboundMessage(
        event_id=delivery.idempotency_key,
        topic=event.topic,
        golden_id=event.golden_id,
        version=event.version,
        payload=event.payload,
        occurred_at=event.created_at.isoformat(),
        coalesced=tuple(
            outbox_idempotency_key(pk) for pk in getattr(delivery, "_folded_events", ())
        ),
        links={gid: link for gid, link in links.items() if gid in wanted},
    )


# ---------------------------------------------------------------------------
# Recording outcomes

Outcome = DeliveryAttempt.Outcome
Result = Sequence[LinkUpdate] | Merged | Exception


def delivery_record(
    *,
    claim: Claim,
    result: Result,
    worker: Worker,
    duration_ms: int = 0,
) -> str | None:
    """Store the outcome of sending `claim`; returns the delivery's new
    state, or None when the lease was lost (another worker took over after
    it expired: its result wins, ours is dropped)."""
    now = worker.clock()
    sent = claim.delivery
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .filter(pk=sent.pk, lease_token=sent.lease_token, state=State.IN_FLIGHT)
            .first()
        )
        if delivery is None:
            logger.warning("lease on delivery %s lost; result dropped", sent.pk)
            return None
        delivery.lease_token = delivery.lease_expires_at = None
        if isinstance(result, Exception):
            _record_failure(
                delivery,
                result,
                claim=claim,
                worker=worker,
                now=now,
                duration_ms=duration_ms,
            )
        else:
            merged = result if isinstance(result, Merged) else None
            _record_successes(
                [(delivery, list(merged.updates if merged else result), duration_ms)],
                worker=worker,
                now=now,
            )
            if merged is not None:
                conflict_record_merge(delivery, merged)
        return delivery.state


def delivery_record_many(
    *, sent: Sequence[tuple[Claim, Result, int]], worker: Worker
) -> None:
    """Store the outcomes of sent claims, each (claim, result, duration in
    ms). The plain successes, the bulk of any healthy run, go in one
    transaction of a few statements whatever their number; failures and
    merged conflicts one by one, as `delivery_record`."""
    successes: list[tuple[Claim, list[LinkUpdate], int]] = []
    for claim, result, duration_ms in sent:
        if isinstance(result, Exception | Merged):
            delivery_record(
                claim=claim, result=result, worker=worker, duration_ms=duration_ms
            )
        else:
            successes.append((claim, list(result), duration_ms))
    if not successes:
        return
    now = worker.clock()
    with transaction.atomic():
        held = Delivery.objects.select_for_update().in_bulk(
            [claim.delivery.pk for claim, _, _ in successes]
        )
        delivered: list[tuple[Delivery, list[LinkUpdate], int]] = []
        for claim, updates, duration_ms in successes:
            delivery = held.get(claim.delivery.pk)
            if (
                delivery is None
                or delivery.state != State.IN_FLIGHT
                or delivery.lease_token != claim.delivery.lease_token
            ):
                logger.warning(
                    "lease on delivery %s lost; result dropped", claim.delivery.pk
                )
                continue
            delivery.lease_token = delivery.lease_expires_at = None
            delivered.append((delivery, updates, duration_ms))
        if delivered:
            _record_successes(delivered, worker=worker, now=now)


# The link fields a delivery writes.
_LINK_FIELDS = (
    "remote_id",
    "remote_version",
    "pushed",
    "pushed_hash",
    "state",
    "last_event",
    "last_version",
    "updated_at",
)


def _record_successes(
    delivered: Sequence[tuple[Delivery, list[LinkUpdate], int]],
    *,
    worker: Worker,
    now: datetime,
) -> None:
    """Mark leased deliveries delivered, log their attempts and update their
    link rows: a fixed handful of statements for the whole list."""
    deliveries = [delivery for delivery, _, _ in delivered]
    for delivery in deliveries:
        delivery.state, delivery.delivered_at = State.DELIVERED, now
        delivery.last_error, delivery.last_status = "", None
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        state=State.DELIVERED,
        delivered_at=now,
        last_error="",
        last_status=None,
        lease_token=None,
        lease_expires_at=None,
    )
    DeliveryAttempt.objects.bulk_create(
        [
            _attempt(
                delivery,
                Outcome.DELIVERED,
                worker=worker,
                now=now,
                duration_ms=duration_ms,
            )
            for delivery, _, duration_ms in delivered
        ]
    )
    target_id = deliveries[0].target_id
    changes = []
    for delivery, updates, _ in delivered:
        if not any(u.golden_id == delivery.golden_id for u in updates):
            updates.append(LinkUpdate(golden_id=delivery.golden_id))
        changes += [(delivery, update) for update in updates]
    golden_ids = {update.golden_id for _, update in changes}
    RemoteLink.objects.bulk_create(
        [RemoteLink(target_id=target_id, golden_id=g) for g in sorted(golden_ids)],
        ignore_conflicts=True,
    )
    links = {
        link.golden_id: link
        for link in RemoteLink.objects.select_for_update()
        .filter(target_id=target_id, golden_id__in=golden_ids)
        .order_by("pk")
    }
    for delivery, update in changes:
        link = links[update.golden_id]
        own = update.golden_id == delivery.golden_id
        link.remote_id = update.remote_id or link.remote_id
        link.remote_version = update.remote_version or link.remote_version
        if update.pushed or own:
            link.pushed = dict(update.pushed)
            link.pushed_hash = payload_hash(link.pushed) if link.pushed else ""
        link.state = update.state
        if own:
            link.last_event_id = delivery.event_id
            link.last_version = max(link.last_version, delivery.version)
        link.updated_at = now
    _update_rows(list(links.values()), _LINK_FIELDS)
    DeliveryTarget.objects.filter(pk=target_id).filter(
        Q(consecutive_failures__gt=0)
        | ~Q(breaker_state=DeliveryTarget.Breaker.CLOSED)
        | Q(last_success_at__isnull=True)
        | Q(last_success_at__lt=now - timedelta(seconds=1))
    ).update(
        consecutive_failures=0,
        breaker_state=DeliveryTarget.Breaker.CLOSED,
        breaker_open_until=None,
        last_success_at=now,
    )


def _record_failure(
    delivery: Delivery,
    exc: Exception,
    *,
    claim: Claim,
    worker: Worker,
    now: datetime,
    duration_ms: int,
) -> None:
    if isinstance(exc, ConnectorError):
        error = exc
    else:
        error = RetryableError(f"{exc.__class__.__name__}: {exc}")
    text = str(error) + (f"\n{error.detail}" if error.detail else "")
    delivery.last_error, delivery.last_status = text[:4000], error.status
    target = DeliveryTarget.objects.select_for_update().get(pk=delivery.target_id)
    target.last_error = text[:4000]
    if isinstance(error, ConflictError):
        outcome = Outcome.CONFLICT
        delivery.state = State.CONFLICT
        _mark_link(delivery, error, now=now)
        conflict_open_task(delivery, error, link=claim.message.link)
    elif isinstance(error, EndpointGoneError):
        # The delivery is not at fault: it waits, with the attempt undone,
        # until an operator resumes the target.
        outcome = Outcome.GONE
        delivery.state, delivery.next_attempt_at = State.PENDING, now
        delivery.attempts = max(0, delivery.attempts - 1)
        target.suspended_at, target.suspended_reason = now, text[:4000]
        alerts.error("target %s suspended: %s", target.name, text)
    elif error.permanent:
        outcome = Outcome.FAILED
        _dead(delivery, target, text)
    else:
        outcome = (
            Outcome.RATE_LIMITED
            if isinstance(error, RateLimitedError)
            else Outcome.RETRY
        )
        if retry_budget_spent(
            attempts=delivery.attempts,
            first_attempt_at=delivery.first_attempt_at,
            now=now,
            max_attempts=target.retry_max_attempts,
            window=target.retry_window,
        ):
            _dead(delivery, target, text)
        else:
            delay = backoff_delay(
                delivery.attempts,
                base=target.backoff_base_seconds,
                cap=target.backoff_cap_seconds,
                retry_after=error.retry_after,
                rng=worker.rng,
            )
            delivery.state = State.PENDING
            delivery.next_attempt_at = now + timedelta(seconds=delay)
        if isinstance(error, RateLimitedError):
            pause = error.retry_after if error.retry_after is not None else 1.0
            until = now + timedelta(seconds=min(pause, 86400))
            target.paused_until = max(target.paused_until or until, until)
        else:
            _breaker_failure(target, now)
    delivery.save()
    target.save()
    _attempt(
        delivery,
        outcome,
        worker=worker,
        now=now,
        duration_ms=duration_ms,
        status=error.status,
        error=text,
    ).save()


def _dead(delivery: Delivery, target: DeliveryTarget, text: str) -> None:
    delivery.state = State.DEAD
    # The alert goes out as the letter dies (RELIABILITY D4): route the
    # golden_record.alerts logger to mail or paging in LOGGING.
    alerts.error(
        "delivery %s (%s %s v%s) to %s is a dead letter after %s attempts: %s",
        delivery.pk,
        delivery.topic,
        delivery.golden_id,
        delivery.version,
        target.name,
        delivery.attempts,
        text,
    )


def _breaker_failure(target: DeliveryTarget, now: datetime) -> None:
    target.consecutive_failures += 1
    if (
        target.breaker_state == DeliveryTarget.Breaker.HALF_OPEN
        or target.consecutive_failures >= target.breaker_threshold
    ):
        if target.breaker_state != DeliveryTarget.Breaker.OPEN:
            logger.warning("circuit to %s opens", target.name)
        target.breaker_state = DeliveryTarget.Breaker.OPEN
        target.breaker_open_until = now + timedelta(
            seconds=target.breaker_cooldown_seconds
        )


def _mark_link(delivery: Delivery, error: ConflictError, *, now: datetime) -> None:
    if isinstance(error, RemoteDeletedError):
        state = (
            RemoteLink.State.REMOTE_ARCHIVED
            if error.archived
            else RemoteLink.State.REMOTE_DELETED
        )
    else:
        state = RemoteLink.State.CONFLICT
    RemoteLink.objects.update_or_create(
        target_id=delivery.target_id,
        golden_id=delivery.golden_id,
        defaults={"state": state, "updated_at": now},
    )


def _attempt(
    delivery: Delivery,
    outcome: str,
    *,
    worker: Worker,
    now: datetime,
    duration_ms: int,
    status: int | None = None,
    error: str = "",
) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery=delivery,
        attempted_at=now,
        duration_ms=max(0, duration_ms),
        outcome=outcome,
        status_code=status,
        error=error[:4000],
        worker=worker.name[:100],
    )


def _lease_renew(chunk: Sequence[Claim], *, worker: Worker) -> list[Claim]:
    """The claims of `chunk` still ours, each renewed for a full lease, right
    before they are sent. A worker that stalled past its lease, whose key
    another worker has since claimed (a new token) and perhaps sent a newer
    version of, must not send the old version after it. A lease that ran
    out but was not taken over is still ours: renewed, it is sent. A lease
    well above the target's time-out (docs/connectors.md) outlasts the call."""
    now = worker.clock()
    pks = [claim.delivery.pk for claim in chunk]
    with transaction.atomic():
        held = set(
            Delivery.objects.select_for_update()
            .filter(
                pk__in=pks,
                lease_token=chunk[0].delivery.lease_token,
                state=State.IN_FLIGHT,
            )
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=held).update(lease_expires_at=now + worker.lease)
    for pk in sorted(set(pks) - held):
        logger.warning("lease on delivery %s lost before sending; not sent", pk)
    return [claim for claim in chunk if claim.delivery.pk in held]


def _release(claim: Claim, *, worker: Worker) -> None:
    """Give a claim back untried (the target could not be used)."""
    Delivery.objects.filter(
        pk=claim.delivery.pk, lease_token=claim.delivery.lease_token
    ).update(
        state=State.PENDING,
        lease_token=None,
        lease_expires_at=None,
        attempts=F("attempts") - 1,
    )


def target_suspend(*, target: DeliveryTarget, reason: str) -> None:
    """Stop sending to `target` until an operator resumes it; alerts."""
    DeliveryTarget.objects.filter(pk=target.pk).update(
        suspended_at=timezone.now(), suspended_reason=reason[:4000], last_error=reason
    )
    alerts.error("target %s suspended: %s", target.name, reason)
