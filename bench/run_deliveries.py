"""Outbox delivery throughput and latency to a loopback webhook receiver.

    .venv/bin/python bench/run_deliveries.py --changes 2000 --workers 1 2
    .venv/bin/python bench/run_deliveries.py --database-url postgres://…/bench_deliveries
    .venv/bin/python bench/run_deliveries.py --batch 50 --database-url …   # batched

1. A fresh database (SQLite in a temporary folder, or the PostgreSQL
   database named by --database-url, dropped and created anew), migrated.
2. A receiver in this process (http.server, one thread per request) that
   verifies each Standard Webhooks signature and notes the message ID, the
   golden ID, the version and the time it arrived (for each message of a
   batch, with --batch N: the webhook target's `batch_size`).
3. Throughput, for each --workers count: --changes golden records are
   created (each writes its outbox event and one delivery, in the same
   transaction), then that many `manage.py deliver_outbox` processes are
   started and timed until no delivery is open. Deliveries per second are
   counted from the workers' start to the last receipt.
4. Latency: one worker runs while this process creates golden records at
   --rate per second for --seconds; the latency of each is its receipt time
   minus the event's `occurred_at` (the commit of the change, to within the
   time a transaction takes).

Checks every run: every event received (none lost), the number received
twice (at-least-once: a re-send after a lost lease; 0 expected here), and
versions in order per golden ID. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECRET = "whsec_" + "YmVuY2gtZGVsaXZlcmllcy1zZWNyZXQtMzItYnl0ZXMh"


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.received: list[tuple[str, str, int, float, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        from standardwebhooks import Webhook

        body = self.rfile.read(int(self.headers["Content-Length"]))
        arrived = time.time()
        Webhook(SECRET).verify(body, dict(self.headers))
        event = json.loads(body)
        events = event["messages"] if event.get("type") == "batch" else [event]
        with self.server.lock:
            self.server.received.extend(
                (e["id"], e["golden_id"], e["version"], arrived, e["occurred_at"])
                for e in events
            )
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def fresh_database(url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}"')
        conn.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')


def make_changes(count: int, start: int) -> None:
    from mdm.models import SourceSystem
    from mdm.services.golden_records import golden_record_create
    from mdm.services.source_records import source_record_upsert

    erp = SourceSystem.objects.get(code="erp")
    for i in range(start, start + count):
        payload = {"FNumber": f"B{i}", "FName": f"北京华盛{i}号科技有限公司"}
        record = source_record_upsert(system=erp, source_id=f"B{i}", payload=payload)
        golden_record_create(members=[record.record])


def open_deliveries() -> int:
    from mdm.models import Delivery

    return Delivery.objects.filter(state__in=Delivery.OPEN_STATES).count()


def start_workers(n: int, env: dict) -> list[subprocess.Popen]:
    command = [sys.executable, "manage.py", "deliver_outbox", "--interval", "0.05"]
    return [subprocess.Popen(command, cwd=ROOT, env=env) for _ in range(n)]


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def wait_drained(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while open_deliveries():
        if time.monotonic() > deadline:
            raise SystemExit(f"{open_deliveries()} deliveries still open")
        time.sleep(0.05)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--changes", type=int, default=2000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rate", type=float, default=20.0, help="changes/s, latency run")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--database-url", help="PostgreSQL URL (recreated)")
    ap.add_argument(
        "--batch", type=int, default=1, help="webhook batch_size (1: one per POST)"
    )
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench",
        "SECURE_SSL_REDIRECT": "false",
        "GOLDEN_RECORD_VAR_DIR": tmp,
        "CONNECTOR_ALLOWED_NETWORKS": "127.0.0.0/8",
        "BENCH_WEBHOOK_SECRET": SECRET,
        "DJANGO_SETTINGS_MODULE": "mdm.settings",
    }
    env.pop("DATABASE_URL", None)
    if args.database_url:
        fresh_database(args.database_url)
        env["DATABASE_URL"] = args.database_url
    os.environ.clear()
    os.environ.update(env)  # this process is a Django process too
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
    )
    import django

    django.setup()
    from mdm.models import DeliveryTarget

    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    DeliveryTarget.objects.create(
        name="bench-hook",
        kind="webhook",
        config={"url": receiver.url, "batch_size": args.batch},
        secret_env={"signing_secret": "BENCH_WEBHOOK_SECRET"},
        timeout_seconds=5.0,
        batch_size=max(50, args.batch),  # a claim holds at least one POST's worth
    )
    result: dict = {
        "changes": args.changes,
        "batch_size": args.batch,
        "database": "postgresql" if args.database_url else "sqlite",
    }
    made = 0
    for n in args.workers:
        started = time.perf_counter()
        make_changes(args.changes, made)
        made += args.changes
        create_s = time.perf_counter() - started
        before = len(receiver.received)
        started = time.time()
        workers = start_workers(n, env)
        wait_drained(timeout=3600)
        stop_workers(workers)
        last = max(r[3] for r in receiver.received[before:])
        result[f"workers_{n}"] = {
            "create_changes_s": round(create_s, 1),
            "drain_s": round(last - started, 2),
            "deliveries_per_s": round(args.changes / (last - started), 1),
        }
    workers = start_workers(1, env)
    time.sleep(3)  # the worker's start-up (Django, connector) is not latency
    before = len(receiver.received)
    total = int(args.rate * args.seconds)
    started = time.perf_counter()
    for i in range(total):
        make_changes(1, made + i)
        pause = started + (i + 1) / args.rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    made += total
    wait_drained(timeout=600)
    stop_workers(workers)
    latencies = [
        (arrived - datetime.fromisoformat(occurred).timestamp()) * 1000
        for _, _, _, arrived, occurred in receiver.received[before:]
    ]
    result["latency_ms"] = {
        "changes": total,
        "rate_per_s": args.rate,
        "p50": round(percentile(latencies, 50), 1),
        "p95": round(percentile(latencies, 95), 1),
        "max": round(max(latencies), 1),
    }
    ids = [r[0] for r in receiver.received]
    versions: dict[str, list[int]] = {}
    for _, golden_id, version, _, _ in receiver.received:
        versions.setdefault(golden_id, []).append(version)
    result["received"] = len(ids)
    result["lost"] = made - len(set(ids))
    result["received_twice"] = len(ids) - len(set(ids))
    result["out_of_order"] = sum(v != sorted(v) for v in versions.values())
    result["load_average"] = os.getloadavg()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
