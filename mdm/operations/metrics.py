"""Prometheus metrics, read from the database at scrape time.

Every app process answers with the same figures (they come from the shared
database, not from per-process counters), so a scraper may ask any of them.
Counters are totals kept in the database (source records placed, rows
imported); take `rate()` of them for throughput.

One exception: requests shed under overload (mdm/operations/load_shedding.py)
are counted by the app processes, since shedding must not touch the database.
Under deploy/gunicorn.conf.py (PROMETHEUS_MULTIPROC_DIR set) every worker
writes its count to a file there and any of them answers with the sum for
its server; elsewhere (runserver, tests) the count is the process's own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from ipaddress import ip_address

from django.conf import settings
from django.db.models import Count, Min, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from mdm.models import (
    CrossReference,
    Delivery,
    GoldenRecord,
    ImportJob,
    OutboxEvent,
    ReviewTask,
    SourceRecord,
)
from mdm.operations.load_shedding import requests_shed

PREFIX = "golden_record"


class DatabaseCollector:
    """One consistent reading of the product's state per scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from _review_queue()
        yield from _records()
        yield from _match_outcomes()
        yield from _imports()
        yield from _outbox()


def _review_queue() -> Iterator[Metric]:
    counts = GaugeMetricFamily(
        f"{PREFIX}_review_tasks", "Review tasks by status.", labels=["status"]
    )
    by_status = dict(
        ReviewTask.objects.values_list("status").annotate(n=Count("id")).order_by()
    )
    for status in ReviewTask.Status.values:
        counts.add_metric([status], by_status.get(status, 0))
    yield counts
    oldest = ReviewTask.objects.filter(status=ReviewTask.Status.OPEN).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    yield GaugeMetricFamily(
        f"{PREFIX}_review_queue_oldest_age_seconds",
        "Age of the oldest open review task (0 when the queue is empty).",
        value=(timezone.now() - oldest).total_seconds() if oldest else 0,
    )


def _records() -> Iterator[Metric]:
    golden = GaugeMetricFamily(
        f"{PREFIX}_golden_records", "Golden records by status.", labels=["status"]
    )
    by_status = dict(
        GoldenRecord.objects.values_list("status").annotate(n=Count("id")).order_by()
    )
    for status in GoldenRecord.Status.values:
        golden.add_metric([status], by_status.get(status, 0))
    yield golden
    sources = GaugeMetricFamily(
        f"{PREFIX}_source_records",
        "Source records by system and whether the source still has them.",
        labels=["system", "active"],
    )
    rows = (
        SourceRecord.objects.values_list("source_system__code", "is_active")
        .annotate(n=Count("id"))
        .order_by()
    )
    for system, active, n in rows:
        sources.add_metric([system, str(active).lower()], n)
    yield sources


def _match_outcomes() -> Iterator[Metric]:
    placed = CounterMetricFamily(
        f"{PREFIX}_match_outcomes",
        "Source records placed in golden records, by how they were placed.",
        labels=["method"],
    )
    by_method = dict(
        CrossReference.objects.values_list("method").annotate(n=Count("id")).order_by()
    )
    for method in CrossReference.Method.values:
        placed.add_metric([method], by_method.get(method, 0))
    yield placed


def _imports() -> Iterator[Metric]:
    jobs = GaugeMetricFamily(
        f"{PREFIX}_import_jobs", "Import jobs by status.", labels=["status"]
    )
    by_status = dict(
        ImportJob.objects.values_list("status").annotate(n=Count("id")).order_by()
    )
    for status in ImportJob.Status.values:
        jobs.add_metric([status], by_status.get(status, 0))
    yield jobs
    rows = ImportJob.objects.aggregate(processed=Sum("processed_rows"))["processed"]
    yield CounterMetricFamily(
        f"{PREFIX}_import_rows",
        "Rows read by imports, all jobs; rate() gives import throughput.",
        value=rows or 0,
    )


def _outbox() -> Iterator[Metric]:
    yield CounterMetricFamily(
        f"{PREFIX}_outbox_events",
        "Golden-record changes written to the outbox.",
        value=OutboxEvent.objects.count(),
    )
    deliveries = GaugeMetricFamily(
        f"{PREFIX}_deliveries",
        "Deliveries to ERP/CRM targets by target and state (dead: dead letters).",
        labels=["target", "state"],
    )
    rows = (
        Delivery.objects.values_list("target__name", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for target, state, n in rows:
        deliveries.add_metric([target, state], n)
    yield deliveries
    lag = GaugeMetricFamily(
        f"{PREFIX}_outbox_lag_seconds",
        "Age of the oldest delivery not yet made, per target (0: none waiting).",
        labels=["target"],
    )
    now = timezone.now()
    oldest = (
        Delivery.objects.filter(state__in=Delivery.OPEN_STATES)
        .values_list("target__name")
        .annotate(oldest=Min("created_at"))
        .order_by()
    )
    for target, created in oldest:
        lag.add_metric([target], (now - created).total_seconds())
    yield lag


_registry = CollectorRegistry(auto_describe=False)
_registry.register(DatabaseCollector())
if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
    # prometheus_client chose file-backed values when it was first imported,
    # from this same variable: read every process's file.
    multiprocess.MultiProcessCollector(_registry)
else:
    _registry.register(requests_shed)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """The exposition; with METRICS_TOKEN set, only for `Authorization:
    Bearer <token>`; without it, only for scrapers on this machine."""
    if not _may_scrape(request):
        return HttpResponse(status=403)
    return HttpResponse(generate_latest(_registry), content_type=CONTENT_TYPE_LATEST)


def _may_scrape(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return constant_time_compare(given, token)
    return ip_address(request.META.get("REMOTE_ADDR", "0.0.0.0")).is_loopback
