"""Liveness and readiness, for load balancers and orchestrators.

`/healthz` answers as long as the process serves requests (no database
touched, so a database outage does not get healthy app processes killed);
`/readyz` answers 200 only when the database answers, every migration is
applied and the shared cache works, else 503 with what failed.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

_migrations_current = False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _database_ok(),
        "migrations": _migrations_ok(),
        "cache": _cache_ok(),
    }
    ready = all(checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def _migrations_ok() -> bool:
    # Once current, a running process's migrations stay current: a newer
    # release that adds migrations runs in new processes.
    global _migrations_current
    if not _migrations_current:
        try:
            executor = MigrationExecutor(connection)
            targets = executor.loader.graph.leaf_nodes()
            _migrations_current = not executor.migration_plan(targets)
        except DatabaseError:
            return False
    return _migrations_current


def _cache_ok() -> bool:
    try:
        cache.set("readyz", "1", 10)
        return cache.get("readyz") == "1"
    except Exception:  # noqa: BLE001 - any cache backend failure means not ready
        return False
