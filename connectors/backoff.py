"""Retry timing: capped exponential backoff with full jitter, and the
retry budget (pure functions, no clock of their own)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

# A server may ask for a long pause, but not for a week.
RETRY_AFTER_MAX = 24 * 3600.0


def backoff_ceiling(failures: int, *, base: float, cap: float) -> float:
    """min(cap, base * 2**n) for the n-th retry (n = failures so far - 1)."""
    n = max(0, failures - 1)
    return min(cap, base * 2.0 ** min(n, 62))


def backoff_delay(
    failures: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after `failures` consecutive failures: uniform in
    [0, min(cap, base * 2**(failures-1))] ("full jitter", so retries of many
    deliveries spread out instead of stampeding), but never less than the
    target's Retry-After (itself capped at a day)."""
    delay = rng() * backoff_ceiling(failures, base=base, cap=cap)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_MAX))
    return delay


def retry_budget_spent(
    *,
    attempts: int,
    first_attempt_at: datetime | None,
    now: datetime,
    max_attempts: int,
    window: timedelta,
) -> bool:
    """True once a delivery has had at least `max_attempts` attempts AND
    has been retried for at least `window`: both bounds are minimums, so a
    streak of short jittered delays cannot dead-letter a message early."""
    if attempts < max_attempts or first_attempt_at is None:
        return False
    return now - first_attempt_at >= window
