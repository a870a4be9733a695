"""gunicorn settings for golden-record.

    gunicorn -c deploy/gunicorn.conf.py -b 0.0.0.0:8000 mdm.wsgi

The application is loaded once in the master (`preload_app`), and the
real-time matching index is built there too, before the workers are forked:
the workers share it (copy-on-write) and none makes the first ingest request
wait for a build of every record (minutes at a million records). A worker
forked later (after `max_requests`, or a crash) starts from the master's
index and catches up from the source-record history on its first match.
Set REALTIME_INDEX_WARM=false to skip the warm-up (each worker then builds
its index on its first match).

Workers: WEB_CONCURRENCY (gunicorn's own variable), default 2.
"""

import gc
import logging
import os
import shutil
import tempfile

# Counters the app keeps in its processes (requests shed under overload,
# mdm/operations/load_shedding.py) go through prometheus_client's
# multiprocess mode: each worker writes its counts to a file in this
# directory and /metrics sums them, whichever worker answers. Set here,
# before the app (and prometheus_client) is imported; a fresh directory per
# server start, removed when it stops, so old workers' counts never linger.
_metrics_dir = None
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    _metrics_dir = tempfile.mkdtemp(prefix="golden-record-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir

preload_app = True
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# A 1,000-record ingest call matches each record in turn: tens of seconds,
# more on a busy machine.
timeout = 300
graceful_timeout = 30
# Recycle workers now and then; the replacement inherits the master's index.
max_requests = 20_000
max_requests_jitter = 2_000
# The listen backlog stays at gunicorn's 2048. A shorter one does not fail
# requests fast under overload: on Linux a full accept queue silently drops
# handshake packets (no refusal unless net.ipv4.tcp_abort_on_overflow), so
# the proxy only waits longer while they are sent again.
# Set REQUEST_QUEUE_TIMEOUT_MS instead (docs/operations.md, Load shedding):
# a stale request queued here is then answered 503 without touching the
# database, and the backlog drains at the rate the workers can shed.
backlog = 2048
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def on_exit(server):
    if _metrics_dir is not None:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


def when_ready(server):
    """In the master, after the app is loaded, before any worker exists."""
    if os.environ.get("REALTIME_INDEX_WARM", "true").lower() == "false":
        return
    from django.db import connections
    from django.urls import get_resolver

    from mdm.services.realtime_matching import realtime_index_warm

    logging.basicConfig(level=logging.INFO)
    _ = get_resolver().url_patterns  # import every view module once, here
    try:
        build = realtime_index_warm()
    except Exception:  # a warm-up failure must not stop the server
        server.log.exception("real-time index warm-up failed; workers build lazily")
    else:
        if build is not None:
            server.log.info(
                "real-time index warmed: %d records in %.1f s, RSS %.0f MiB",
                build.records,
                build.seconds,
                build.rss_after_mib,
            )
    finally:
        # The workers must not share the master's database connection.
        connections.close_all()
        # Keep the index's objects out of the collector's sight: a collection
        # in a worker would otherwise write to every one of them (reference
        # headers) and copy the master's pages, making the shared index
        # private to each worker.
        gc.collect()
        gc.freeze()
