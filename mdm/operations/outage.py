"""A database that went away (restart, fail-over, network) answers 503 with
Retry-After instead of a 500. Django drops the broken connection when the
request ends (close_old_connections) and, with CONN_HEALTH_CHECKS, checks a
reused one before the next request: the app recovers by itself."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseOutageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        log.warning("database unavailable: %s", type(exception).__name__)
        response = JsonResponse(
            {
                "error": "service_unavailable",
                "detail": "The database is unavailable; retry shortly.",
            },
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
