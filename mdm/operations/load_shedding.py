"""Load shedding: a request that queued too long is answered 503 at once.

When the app is overloaded, requests queue in the listen backlog or in the
reverse proxy past their callers' time-outs. Serving them anyway wastes the
workers on answers nobody reads, and the queue never drains. The proxy stamps
each request with `X-Request-Start` when it passes it on (nginx:
`proxy_set_header X-Request-Start "t=${msec}";`). A request that waited longer
than REQUEST_QUEUE_TIMEOUT_MS before Django saw it gets 503 with Retry-After
and never touches the database, so the workers catch up with fresh requests.

The header can be trusted only when the proxy sets it, so shedding is off
unless the setting is above 0. A header that cannot be read, or is dated in
the future (the proxy's clock ahead of ours), is ignored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.log import log_response
from prometheus_client import Counter

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5

# Liveness and readiness must reflect the process, not the queue in front of
# it, and the metrics must still come through to show the shedding.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

# 2000-01-01 UTC. A stamp read in the wrong unit lands before it: ms read as
# µs is around 1970, seconds read as ms too (New Relic's rule).
_EARLIEST_START = 946_684_800.0

# Not in the default registry: /metrics exposes it (mdm/operations/metrics.py),
# summed over the gunicorn workers in prometheus_client's multiprocess mode.
requests_shed = Counter(
    "golden_record_requests_shed",
    "Requests answered 503 at once because they had waited longer than "
    "REQUEST_QUEUE_TIMEOUT_MS before the app saw them.",
    registry=None,
)


def request_start(header: str, now: float) -> float | None:
    """When the proxy received the request, in Unix seconds, from an
    `X-Request-Start` of `t=<seconds[.fraction]>`, `t=<milliseconds>`,
    `t=<microseconds>` or the bare number, the unit told by its size; None
    when it cannot be read or lies in the future."""
    try:
        stamp = float(header.strip().removeprefix("t="))
    except ValueError:
        return None
    for divisor in (1_000_000, 1_000, 1):
        seconds = stamp / divisor
        if seconds > now:  # the future (clock skew), or too big to be a time
            return None
        if seconds > _EARLIEST_START:
            return seconds
    return None  # before 2000 in every unit, NaN, negative


class LoadSheddingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        budget_ms = settings.REQUEST_QUEUE_TIMEOUT_MS
        header = request.META.get("HTTP_X_REQUEST_START")
        if budget_ms > 0 and header and request.path_info not in EXEMPT_PATHS:
            now = time.time()
            started = request_start(header, now)
            queued_ms = 0.0 if started is None else (now - started) * 1000
            if queued_ms > budget_ms:
                return self._shed(queued_ms, budget_ms)
        return self.get_response(request)

    def _shed(self, queued_ms: float, budget_ms: int) -> HttpResponse:
        requests_shed.inc()
        response = JsonResponse(
            {
                "error": "service_unavailable",
                "detail": "The service is overloaded; retry shortly.",
            },
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        # One warning line, and no path (a lookup's path can hold a USCC).
        # log_response marks the response logged, so Django's request
        # handler does not add an error line of its own for the 503.
        log_response(
            "request shed: queued %d ms, budget %d ms",
            queued_ms,
            budget_ms,
            response=response,
            logger=log,
            level="warning",
        )
        return response
