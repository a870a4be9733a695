"""Per-token rate limits, counted in the shared Django cache.

Keyed by the API token (a client's tokens are limited one by one, so a
rotated-in successor starts fresh), by the user of a session, or by the client
IP for anything else. The IP comes from REMOTE_ADDR unless `NUM_PROXIES` (env
API_TRUSTED_PROXIES) says how many proxies in front of the app may be believed
in X-Forwarded-For.

Fixed-window counters (the scheme of django-ratelimit and of Redis's own rate
limiting pattern), not DRF's sliding log: DRF's SimpleRateThrottle reads a list
of every request time in the window and writes it back on each request, a
read-modify-write that two app processes can interleave (both read n, both
write n + 1) and that grows to `limit` floats. Here:

- On Redis (production, several processes): one counter per key and window,
  raised with INCR, which is atomic, so the limit holds exactly across
  processes and machines: SET NX with the window's expiry, then INCR, sent
  as one pipeline (one round trip) on a client kept per process.
- On other backends (the DatabaseCache fallback), Django's `incr()` is itself
  a get and a set, and each window in its own key would leave a row per
  window behind: one row per key holds (window, count), read on every
  request and written for allowed ones, in a transaction that holds the key
  (a PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE serialises writers
  anyway) so that concurrent processes do not lose counts. That is a
  database write and commit per allowed request: use Redis under load.

Windows are aligned to the clock, each key's shifted by a hash of the key so
that clients' budgets do not all renew in the same second. A client may thus
send up to twice its limit across a window edge; the sliding log did not
allow that, and it is the usual price of a counter.
"""

from __future__ import annotations

import logging
import math
import time
import zlib

import redis
import redis.exceptions
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connection, transaction
from rest_framework.exceptions import APIException
from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from mdm.models import ApiToken

logger = logging.getLogger(__name__)

DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The first key of PostgreSQL's two-key advisory locks, for rate-limit keys.
ADVISORY_LOCK_CLASS = 0x7274  # "rt"


class TokenRateThrottle(BaseThrottle):
    """The view's `throttle_scope` ("lookup", "search", "write") picks the
    rate; a view without one is limited as a lookup (reads) or a write."""

    timer = time.time

    def allow_request(self, request, view) -> bool:
        scope = getattr(view, "throttle_scope", None) or (
            "lookup" if request.method in SAFE_METHODS else "write"
        )
        # Read per request, not at import, so settings overrides take effect.
        rate = api_settings.DEFAULT_THROTTLE_RATES[scope]
        if rate is None:
            return True
        allowed, self.retry_after = rate_limit_hit(
            self.get_cache_key(request, scope), rate, timer=self.timer
        )
        return allowed

    def wait(self) -> float:
        # Until the window ends (the Retry-After of the 429).
        return self.retry_after

    def get_cache_key(self, request, scope: str) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        # Not DRF's "throttle:…" keys, which hold its request-time lists.
        return f"ratelimit:{scope}:{ident}"


class RateLimitStoreUnavailable(APIException):
    status_code = 503
    default_detail = "Rate limits cannot be counted just now; retry shortly."
    default_code = "unavailable"
    wait = 5  # DRF's handler turns it into Retry-After


def rate_limit_hit(key: str, rate: str, *, timer=time.time) -> tuple[bool, float]:
    """Count one request against `rate` ("6/min") for `key`: (allowed, seconds
    until the window ends, the Retry-After of a refusal). Raises
    RateLimitStoreUnavailable when Redis cannot be reached."""
    limit, duration = parse_rate(rate)
    now = timer()
    offset = zlib.crc32(key.encode()) % duration
    window = int((now - offset) // duration)
    retry_after = (window + 1) * duration + offset - now
    ttl = math.ceil(retry_after) + 1
    try:
        hits = window_hit(key, window=window, limit=limit, ttl=ttl)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        # Closed, not open: a limit that lapses whenever Redis does is no
        # limit. The client retries, as after a database outage.
        logger.warning("rate-limit cache unreachable; answering 503")
        raise RateLimitStoreUnavailable from None
    return hits <= limit, retry_after


def parse_rate(rate: str) -> tuple[int, int]:
    """DRF's rate syntax: "100/s", "20/sec", "6/min", "1000/hour", "5/day"."""
    count, period = rate.split("/")
    return int(count), DURATIONS[period[0]]


def window_hit(key: str, *, window: int, limit: int, ttl: int) -> int:
    """Count a request in `key`'s current window; return the count so far,
    this request included."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return _redis_hit(cache, f"{key}:{window}", ttl=ttl)
    if type(cache).incr is not BaseCache.incr:  # the backend's own, atomic
        return _atomic_hit(cache, f"{key}:{window}", ttl=ttl)
    # The lock is held to the end of the transaction. API requests run
    # outside one (no ATOMIC_REQUESTS), so it is ours and ends right after
    # the write. Inside a caller's transaction (tests, a future
    # ATOMIC_REQUESTS) the count would be committed only with it, so a lock
    # could not make it exact and would serialise the client's requests:
    # none is taken, and no savepoint either.
    locks = not connection.in_atomic_block and connection.vendor == "postgresql"
    with transaction.atomic(savepoint=False):
        if locks:  # SQLite serialises writers with BEGIN IMMEDIATE anyway
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)",
                    [ADVISORY_LOCK_CLASS, zlib.crc32(key.encode()) - 2**31],
                )
        held_window, hits = cache.get(key, (None, 0))
        hits = hits + 1 if held_window == window else 1
        if hits <= limit:
            cache.set(key, (window, hits), ttl)
    return hits


def _redis_hit(cache: RedisCache, key: str, *, ttl: int) -> int:
    # SET NX starts the window's counter at 0 with its expiry (a no-op once
    # it exists); INCR is atomic. Django's own incr() is EXISTS then INCR,
    # two round trips on a client object built per call.
    pipe = _redis_client(cache).pipeline(transaction=False)
    pipe.set(cache.make_and_validate_key(key), 0, ex=ttl, nx=True)
    pipe.incr(cache.make_and_validate_key(key))
    return pipe.execute()[1]


def _redis_client(cache: RedisCache) -> redis.Redis:
    # The cache's first server is the one Django writes to. redis-py's pool
    # notices a fork and opens new connections in the child.
    url = cache._servers[0]
    client = _redis_clients.get(url)
    if client is None:
        # The connection options of the cache's OPTIONS (time-outs and the
        # like), not the ones Django's client consumes itself.
        options = {
            k: v for k, v in cache._options.items() if k not in _DJANGO_ONLY_OPTIONS
        }
        client = _redis_clients[url] = redis.Redis.from_url(url, **options)
    return client


_DJANGO_ONLY_OPTIONS = {"serializer", "pool_class", "parser_class"}


_redis_clients: dict[str, redis.Redis] = {}


def _atomic_hit(cache: BaseCache, key: str, *, ttl: int) -> int:
    # The backend's own incr() (local memory: under a lock). Only the first
    # request of a window adds the key; of two adding it at once one gets
    # False and increments instead.
    try:
        return cache.incr(key)
    except ValueError:
        if cache.add(key, 1, ttl):
            return 1
        return cache.incr(key)
