"""Outbox deliveries under faults: a failing receiver, killed workers and
dropped database connections (issue 6, RELIABILITY D2/D5 at full size).

    nice -n 10 .venv/bin/python bench/run_delivery_faults.py --changes 20000 \\
        --workers 2 --database-url postgres://postgres@127.0.0.1:54340/gr_h1_faults \\
        --out var/bench/delivery_faults_20k.json

1. A fresh PostgreSQL database (--database-url, dropped and created anew),
   migrated, and one webhook target with the product's own knobs turned
   down for a bench: time-out 1 s, backoff 0.5 s doubling to at most 5 s,
   batches of 20, circuit open for 5 s; leases of 10 s
   (DELIVERY_LEASE_SECONDS). The retry budget is left as shipped (12
   attempts and 72 h), so no delivery can die of bad luck here.
2. A receiver in this process (bench/run_deliveries.py's, with a faulty
   handler) verifies each Standard Webhooks signature and fails --fail-rate
   of calls: HTTP 500, 429 with Retry-After 1 or 2 s, a time-out (it sleeps
   past the 1 s time-out, then closes), and commit-then-drop (it records the
   message, then closes the connection without answering). The rest it
   records and answers 204 (a message seen before too: a real receiver
   dedupes on webhook-id). It counts a message received again after a lost
   answer (commit-then-drop: expected of at-least-once) apart from one
   received again after a success answer ("applied twice" without the
   dedupe).
3. --workers `manage.py deliver_outbox` processes, started before the
   changes. This process makes --changes changes as fast as it can: a new
   golden record (one in four changes) or a new version of an existing one
   (source record changed, golden record recomputed). Spread over the
   changes, it SIGKILLs a worker in the middle of a claim --kills times
   (restarting it at once, as a supervisor would) and
   terminates every worker's database connection --terminations times
   (pg_terminate_backend). It then waits until no delivery is open, or
   until none has been attempted for --stall seconds (then "stalled").
4. Checks, from the receiver's log and the database: every golden ID's
   latest version answered with success (none lost); success answers in
   version order per golden ID; messages received again after a success
   answer, and how many success answers the workers never recorded
   (killed or cut off between the answer and its commit); delivery states
   (none open, none dead); each link row at the latest version.

Prints one JSON summary; --out writes it too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_deliveries import (  # noqa: E402 (bench scripts run by path)
    ROOT,
    SECRET,
    Receiver,
    fresh_database,
    make_changes,
    open_deliveries,
    start_workers,
    stop_workers,
)

TIMEOUT_S = 1.0
LEASE_S = 10
WORKER_APP = "bench-deliver-worker"  # application_name of the workers' backends
# Shares of the failures (they add up to 1).
FAULT_MIX = {"500": 0.4, "429": 0.1, "timeout": 0.15, "drop": 0.35}


class FaultyReceiver(Receiver):
    def __init__(self, *, fail_rate: float, seed: int) -> None:
        super().__init__()
        self.RequestHandlerClass = _FaultyHandler
        self.fail_rate = fail_rate
        self.random = random.Random(seed)
        self.calls: Counter[str] = Counter()
        # Messages recorded (answered or dropped), in the order recorded:
        # (webhook-id, golden ID, version, "ok" or "drop").
        self.log: list[tuple[str, str, int, str]] = []

    def pick(self) -> str:
        roll = self.random.random()
        if roll >= self.fail_rate:
            return "ok"
        roll /= self.fail_rate
        for fault, share in FAULT_MIX.items():
            if roll < share:
                return fault
            roll -= share
        return "drop"


class _FaultyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        from standardwebhooks import Webhook

        body = self.rfile.read(int(self.headers["Content-Length"]))
        Webhook(SECRET).verify(body, dict(self.headers))
        server = self.server
        fault = server.pick()
        with server.lock:
            server.calls[fault] += 1
        if fault == "500":
            return self._answer(500)
        if fault == "429":
            return self._answer(429, [("Retry-After", server.random.choice("12"))])
        if fault == "timeout":
            time.sleep(TIMEOUT_S + 0.5)
            self.close_connection = True
            return
        event = json.loads(body)
        with server.lock:
            server.log.append(
                (
                    self.headers["webhook-id"],
                    event["golden_id"],
                    event["version"],
                    fault,
                )
            )
        if fault == "drop":
            self.close_connection = True  # recorded, but no answer
            return
        self._answer(204)

    def _answer(self, status: int, headers=()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def make_update(golden, source_id: str, n: int) -> None:
    """A new version of `golden`: its source record (made by
    run_deliveries.make_changes) changed, the golden record recomputed."""
    from django.db import transaction

    from mdm.models import SourceSystem
    from mdm.services.golden_records import golden_record_recompute
    from mdm.services.source_records import source_record_upsert

    with transaction.atomic():
        source_record_upsert(
            system=SourceSystem.objects.get(code="erp"),
            source_id=source_id,
            payload={
                "FNumber": source_id,
                "FName": f"北京华盛{source_id}科技有限公司{n}",
            },
        )
        golden_record_recompute(golden=golden, reason="bench update")


def kill_one(workers: list, rng: random.Random, env: dict) -> dict:
    """SIGKILL a worker in the middle of a claim (any worker if none holds a
    live lease within 5 s) and restart it; what it held waits for its lease."""
    from django.utils import timezone

    from mdm.models import Delivery

    def in_flight(worker, **lookups):
        return Delivery.objects.filter(
            state=Delivery.State.IN_FLIGHT,
            leased_by=f"{socket.gethostname()}:{worker.pid}"[:100],
            **lookups,
        )

    order = rng.sample(range(len(workers)), len(workers))
    for _ in range(50):
        now = timezone.now()
        busy = [i for i in order if in_flight(workers[i], lease_expires_at__gt=now)]
        if busy:
            break
        time.sleep(0.1)
    i = (busy or order)[0]
    victim = workers[i]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    workers[i] = start_workers(1, env)[0]
    return {
        "pid": victim.pid,
        "mid_claim": bool(busy),
        "in_flight_held": in_flight(victim).count(),
    }


def terminate_connections() -> int:
    """pg_terminate_backend on the workers' connections (retried for up to
    5 s until one is hit: a worker may be between connections)."""
    from django.db import connection

    for _ in range(50):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = %s",
                [WORKER_APP],
            )
            hit = cursor.fetchone()[0]
        if hit:
            return hit
        time.sleep(0.1)
    return 0


def supervise(workers: list, env: dict) -> int:
    """Restart workers that exited on their own; returns how many did."""
    crashed = [i for i, w in enumerate(workers) if w.poll() is not None]
    for i in crashed:
        workers[i] = start_workers(1, env)[0]
    return len(crashed)


def produce(args, workers: list, env: dict, result: dict) -> None:
    """Make the changes; the kills and terminations fall between them."""
    from mdm.models import GoldenRecord

    rng = random.Random(args.seed)
    faults = ["kill"] * args.kills + ["terminate"] * args.terminations
    rng.shuffle(faults)
    at = sorted(rng.sample(range(args.changes // 20, args.changes), len(faults)))
    schedule = dict(zip(at, faults, strict=True))
    goldens: list[GoldenRecord] = []
    for n in range(args.changes):
        if not goldens or rng.random() < 0.25:
            make_changes(1, len(goldens))  # source ID f"B{index}"
            goldens.append(GoldenRecord.objects.latest("pk"))
        else:
            k = rng.randrange(len(goldens))
            make_update(goldens[k], f"B{k}", n)
        fault = schedule.get(n)
        if fault == "kill":
            result["kills"].append({"at_change": n, **kill_one(workers, rng, env)})
        elif fault == "terminate":
            result["terminations"].append(
                {"at_change": n, "backends": terminate_connections()}
            )
        if n % 200 == 0:
            result["worker_crashes"] += supervise(workers, env)


def wait_drained(workers: list, env: dict, result: dict, stall_s: float) -> None:
    """Until no delivery is open, or none was attempted for `stall_s` seconds
    (longer than a lease, the backoff cap and a Retry-After) while some are."""
    from django.utils import timezone

    from mdm.models import DeliveryAttempt

    while open_deliveries():
        result["worker_crashes"] += supervise(workers, env)
        time.sleep(1)
        since = timezone.now() - timedelta(seconds=stall_s)
        if not DeliveryAttempt.objects.filter(attempted_at__gte=since).exists():
            result["stalled"] = True
            return


def check(receiver: FaultyReceiver) -> dict:
    """What the receiver saw against what the database says."""
    from django.db.models import Count

    from mdm.models import Delivery, DeliveryAttempt, GoldenRecord, RemoteLink

    answered: Counter[str] = Counter()
    recorded: set[str] = set()
    resent_after_lost_answer = applied_twice = 0
    versions: dict[str, list[int]] = defaultdict(list)
    for msg_id, golden_id, version, outcome in receiver.log:
        if answered[msg_id]:
            applied_twice += 1
        elif msg_id in recorded:
            resent_after_lost_answer += 1
        recorded.add(msg_id)
        if outcome == "ok":
            answered[msg_id] += 1
            versions[golden_id].append(version)
    latest = dict(GoldenRecord.objects.values_list("golden_id", "version"))
    delivered_attempts = Counter(
        dict(
            DeliveryAttempt.objects.filter(outcome=DeliveryAttempt.Outcome.DELIVERED)
            .values_list("delivery__idempotency_key")
            .annotate(n=Count("id"))
        )
    )
    links = dict(RemoteLink.objects.values_list("golden_id", "last_version"))
    calls = sum(receiver.calls.values())
    return {
        "golden_ids": len(latest),
        "versions_made": sum(latest.values()),
        "calls": dict(receiver.calls),
        "calls_failed_share": round(1 - receiver.calls["ok"] / calls, 3),
        "messages_recorded": len(recorded),
        "resent_after_lost_answer": resent_after_lost_answer,
        "applied_twice": applied_twice,
        # Success answers no worker committed (killed, or its connection cut,
        # between the answer and the record): each may be sent again.
        "success_answers_not_recorded": sum(
            max(0, n - delivered_attempts[key]) for key, n in answered.items()
        ),
        "recorded_delivered_twice": sum(n > 1 for n in delivered_attempts.values()),
        "latest_delivered": sum(
            max(versions[g], default=0) == v for g, v in latest.items()
        ),
        "lost": sum(max(versions[g], default=0) < v for g, v in latest.items()),
        "out_of_order": sum(v != sorted(v) for v in versions.values()),
        "links_behind": sum(links.get(g, 0) != v for g, v in latest.items()),
        "deliveries": dict(
            Delivery.objects.values_list("state").annotate(n=Count("id"))
        ),
        # In flight with no lease expiry: no worker will ever claim it again.
        "in_flight_without_lease_expiry": Delivery.objects.filter(
            state=Delivery.State.IN_FLIGHT, lease_expires_at__isnull=True
        ).count(),
        "attempts": dict(
            DeliveryAttempt.objects.values_list("outcome").annotate(n=Count("id"))
        ),
    }


def fresh_django(database_url: str, **extra_env: str) -> dict:
    """A fresh, migrated database at `database_url`, and this process set up
    as a Django process on it with the bench's settings (which it returns:
    the workers run with them too)."""
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench",
        "SECURE_SSL_REDIRECT": "false",
        "CONNECTOR_ALLOWED_NETWORKS": "127.0.0.0/8",
        "DATABASE_URL": database_url,
        "DELIVERY_LEASE_SECONDS": str(LEASE_S),
        "DJANGO_SETTINGS_MODULE": "mdm.settings",
        "LOG_LEVEL": "WARNING",  # not a line per HTTP call
        **extra_env,
    }
    fresh_database(database_url)
    os.environ.clear()
    os.environ.update(env)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
    )
    import django

    django.setup()
    return env


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--changes", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fail-rate", type=float, default=0.3)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--terminations", type=int, default=4)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--stall", type=float, default=60.0, help="seconds, see 4.")
    ap.add_argument("--database-url", required=True, help="PostgreSQL (recreated)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    started = time.time()
    env = fresh_django(args.database_url, BENCH_WEBHOOK_SECRET=SECRET)
    from mdm.models import DeliveryTarget

    receiver = FaultyReceiver(fail_rate=args.fail_rate, seed=args.seed)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    DeliveryTarget.objects.create(
        name="bench-faulty-hook",
        kind="webhook",
        config={"url": receiver.url},
        secret_env={"signing_secret": "BENCH_WEBHOOK_SECRET"},
        timeout_seconds=TIMEOUT_S,
        batch_size=20,
        backoff_base_seconds=0.5,
        backoff_cap_seconds=5.0,
        breaker_cooldown_seconds=5.0,
    )
    result: dict = {
        "changes": args.changes,
        "workers": args.workers,
        "fail_rate": args.fail_rate,
        "fault_mix": FAULT_MIX,
        "kills": [],
        "terminations": [],
        "worker_crashes": 0,
        "stalled": False,
    }
    worker_env = {**env, "PGAPPNAME": WORKER_APP}
    workers = start_workers(args.workers, worker_env)
    t0 = time.time()
    produce(args, workers, worker_env, result)
    result["produce_s"] = round(time.time() - t0, 1)
    result["load_average_after_produce"] = os.getloadavg()
    wait_drained(workers, worker_env, result, args.stall)
    result["drain_s"] = round(time.time() - t0, 1)
    stop_workers(workers)
    result.update(check(receiver))
    result["wall_s"] = round(time.time() - started, 1)
    result["load_average"] = os.getloadavg()
    print(json.dumps(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
