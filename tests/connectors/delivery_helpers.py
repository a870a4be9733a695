"""Builders and drivers shared by the delivery tests."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from itertools import count

from django.utils import timezone

from connectors.broadcast import Worker, broadcast_run_once
from mdm.models import Delivery, DeliveryTarget

_serial = count(1)
LOOPBACK = ["127.0.0.0/8"]


def make_webhook_target(url: str, secret: str, **fields) -> DeliveryTarget:
    variable = f"TEST_WEBHOOK_SECRET_{next(_serial)}"
    os.environ[variable] = secret
    defaults = {
        "name": f"hook-{variable.lower().replace('_', '-')}",
        "kind": "webhook",
        "config": {"url": url},
        "secret_env": {"signing_secret": variable},
        "timeout_seconds": 2.0,
        "backoff_base_seconds": 0.0,
        "breaker_threshold": 1000,
    }
    defaults.update(fields)
    return DeliveryTarget.objects.create(**defaults)


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or timezone.now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def open_count() -> int:
    return Delivery.objects.filter(state__in=Delivery.OPEN_STATES).count()


def drain(worker: Worker, *, timeout: float = 60.0, pause: float = 0.0) -> int:
    """Run passes until nothing is open (or raise after `timeout` s)."""
    deadline = time.monotonic() + timeout
    passes = 0
    while open_count():
        if time.monotonic() > deadline:
            raise AssertionError(f"{open_count()} deliveries still open")
        if not broadcast_run_once(worker=worker):
            time.sleep(pause or 0.01)
        passes += 1
    return passes
