"""RELIABILITY D3: capped exponential backoff with full jitter, a retry
window of at least 72 h with at least 10 attempts, Retry-After honoured,
410 disables the endpoint (fake clock throughout)."""

import random
from datetime import timedelta

import pytest

from connectors.backoff import backoff_ceiling, backoff_delay, retry_budget_spent
from connectors.broadcast import Worker, broadcast_run_once
from mdm.models import Delivery, DeliveryTarget
from tests.builders import make_golden
from tests.connectors.delivery_helpers import LOOPBACK, FakeClock, make_webhook_target
from tests.connectors.downstream import Downstream, Faults


def test_every_delay_of_ten_thousand_failures_lies_within_the_capped_ceiling():
    rng = random.Random(3)
    base, cap = 30.0, 6 * 3600.0
    delays = []
    for _ in range(10_000):
        failures = rng.randint(1, 40)
        delay = backoff_delay(failures, base=base, cap=cap, rng=rng.random)
        assert 0 <= delay <= min(cap, base * 2 ** (failures - 1))
        delays.append(delay / backoff_ceiling(failures, base=base, cap=cap))
    # Full jitter: spread over the whole interval, not bunched at the top.
    assert min(delays) < 0.01 and max(delays) > 0.99
    assert 0.45 < sum(delays) / len(delays) < 0.55


def test_retry_after_is_a_floor_on_the_delay():
    assert backoff_delay(1, base=1, cap=10, retry_after=120, rng=lambda: 0.5) == 120
    assert backoff_delay(1, base=1, cap=10, retry_after=10**9, rng=lambda: 0) == 86400


def test_the_budget_needs_both_the_attempts_and_the_window():
    start = FakeClock().now
    window = timedelta(hours=72)
    kw = {"first_attempt_at": start, "max_attempts": 10, "window": window}
    assert not retry_budget_spent(attempts=50, now=start + timedelta(hours=71), **kw)
    assert not retry_budget_spent(attempts=9, now=start + timedelta(hours=100), **kw)
    assert retry_budget_spent(attempts=10, now=start + window, **kw)


def test_the_default_budget_is_at_least_ten_attempts_over_72_hours():
    target = DeliveryTarget(name="x", kind="webhook")
    assert target.retry_max_attempts >= 10
    assert target.retry_window >= timedelta(hours=72)
    assert target.timeout_seconds == 30.0


@pytest.mark.django_db
def test_a_failing_target_is_retried_for_72_hours_before_the_dead_letter(settings):
    settings.CONNECTOR_ALLOWED_NETWORKS = LOOPBACK
    with Downstream(Faults(always_status=500)) as downstream:
        target = make_webhook_target(downstream.url, downstream.secret)
        target.backoff_base_seconds = 30
        target.save()
        make_golden(FNumber="C1")
        clock, rng = FakeClock(), random.Random(5)
        worker = Worker(clock=clock, rng=rng.random)
        previous = None
        while True:
            broadcast_run_once(worker=worker)
            delivery = Delivery.objects.get()
            if delivery.state == "dead":
                break
            delay = (delivery.next_attempt_at - clock.now).total_seconds()
            ceiling = min(target.backoff_cap_seconds, 30 * 2 ** (delivery.attempts - 1))
            assert 0 <= delay <= ceiling + 1e-6
            assert delivery.next_attempt_at != previous
            previous = delivery.next_attempt_at
            clock.now = delivery.next_attempt_at
    assert delivery.attempts >= 10
    assert clock.now - delivery.first_attempt_at >= timedelta(hours=72)
    assert len(downstream.requests) == delivery.attempts


@pytest.mark.django_db
def test_a_410_disables_the_endpoint(settings):
    settings.CONNECTOR_ALLOWED_NETWORKS = LOOPBACK
    with Downstream(Faults(always_status=410)) as downstream:
        target = make_webhook_target(downstream.url, downstream.secret)
        make_golden(FNumber="C1")
        make_golden(FNumber="C2")
        worker = Worker()
        broadcast_run_once(worker=worker)
        broadcast_run_once(worker=worker)
        target.refresh_from_db()
        assert target.suspended_at is not None and "410" in target.suspended_reason
        assert len(downstream.requests) == 1
        assert set(Delivery.objects.values_list("state", flat=True)) == {"pending"}
