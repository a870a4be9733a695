"""RELIABILITY D2 at its full size: merges broadcast to an ERP and a CRM
receiver that fail a third of the calls, with delivery workers SIGKILLed and
Redis and PostgreSQL each restarted while the merges are made.

    .venv/bin/python bench/run_merge_broadcast_faults.py --merges 10000 \\
        --database-url postgres://postgres@127.0.0.1:54340/gr_d2 \\
        --pgdata /tmp/pg_54340/data --redis-port 6391 \\
        --out var/bench/d2_10k_merges.json

1. A fresh PostgreSQL database (--database-url, dropped and created anew),
   migrated, with 2 × --merges golden records of one ERP source record each,
   made before the targets exist. A Redis server of the bench's own on
   --redis-port (started and restarted by the bench); every process runs
   with REDIS_URL pointing at it, as a production install does.
2. Two receivers, "erp" and "crm": the reference receiver
   (connectors.webhook.receiver: verifies signatures, deduplicates on
   webhook-id, applies redirects) behind the tests' fault-injecting loopback
   server (tests/connectors/downstream.py) with D2's faults: 30 % HTTP 500,
   5 % time-outs (it hangs past the 1 s time-out, then resets), 2 %
   connection resets, and 3 % applied then answered with a dropped
   connection. Each is a webhook target subscribed to `golden.merged` only,
   with the product's knobs turned down for a bench as in
   run_delivery_faults.py (1 s time-out, backoff 0.5 s capped at 5 s,
   batches of 20, circuit cool-down 5 s), leases of 10 s.
3. --workers `manage.py deliver_outbox` processes, started before the
   merges. This process makes --merges merges (golden record 2n absorbs
   2n + 1), one transaction each, as a steward's approval does. Spread over
   them: --kills SIGKILLs of a worker in the middle of a claim (restarted at
   once, as a supervisor would), one Redis restart (shutdown, then a new
   server on the same port) and one PostgreSQL restart (`pg_ctl restart -m
   fast` on --pgdata). A merge whose connection broke is retried once the
   database answers, unless it committed (its absorbed record is merged).
4. Waits until no delivery is open (or none was attempted for --stall s),
   then checks: every merge delivered to both receivers (its message id
   seen), each applied once (a second arrival of an id is acknowledged as a
   duplicate, not applied), every redirect absorbed → survivor known to both,
   each survivor held at its database version, and the time from the last
   fault to the last delivery (D2: ≤ 15 min).

Prints one JSON summary (--out writes it too) and exits 1, naming what
broke, when D2 does not hold.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_deliveries import (  # noqa: E402 (bench scripts run by path)
    ROOT,
    open_deliveries,
    start_workers,
    stop_workers,
)
from run_delivery_faults import (  # noqa: E402
    TIMEOUT_S,
    WORKER_APP,
    fresh_django,
    kill_one,
    supervise,
)
from run_soak import machine, pg_restart  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.connectors.downstream import Downstream, Faults  # noqa: E402

CHUNK = 500  # golden records made per transaction before the run
MAX_AFTER_FAULTS_S = 15 * 60  # D2: all delivered within 15 min of the faults


def d2_faults() -> Faults:
    return Faults(
        error_500=0.30,
        timeout=0.05,
        reset=0.02,
        commit_then_drop=0.03,
        hang_seconds=TIMEOUT_S + 0.5,
    )


class RedisServer:
    """A redis-server of the bench's own, so that it can be restarted."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server not found")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise SystemExit(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def restart(self) -> dict:
        started = time.time()
        self.stop()
        self.start()
        return {"started_at": started, "down_s": round(time.time() - started, 2)}


def make_pool(count: int) -> list[int]:
    """`count` golden records of one ERP source record each; their pks."""
    from django.db import transaction

    from mdm.models import SourceSystem
    from mdm.services.golden_records import golden_record_create
    from mdm.services.source_records import source_record_upsert

    erp = SourceSystem.objects.get(code="erp")
    pks = []
    for start in range(0, count, CHUNK):
        with transaction.atomic():
            for i in range(start, min(start + CHUNK, count)):
                payload = {"FNumber": f"D{i}", "FName": f"上海永信{i}号贸易有限公司"}
                record = source_record_upsert(
                    system=erp, source_id=f"D{i}", payload=payload
                )
                pks.append(golden_record_create(members=[record.record]).pk)
    return pks


def add_target(name: str, downstream: Downstream, secret_variable: str):
    from mdm.models import DeliveryTarget

    return DeliveryTarget.objects.create(
        name=name,
        kind="webhook",
        config={"url": downstream.url},
        secret_env={"signing_secret": secret_variable},
        topics=["golden.merged"],
        timeout_seconds=TIMEOUT_S,
        batch_size=20,
        backoff_base_seconds=0.5,
        backoff_cap_seconds=5.0,
        breaker_cooldown_seconds=5.0,
    )


def merge_once(survivor: int, absorbed: int, steward) -> dict:
    """One merge, retried through a database outage; how many tries it took
    and whether a broken try had in fact committed."""
    from django.db import DatabaseError, connections

    from mdm.models import GoldenRecord
    from mdm.services.golden_records import golden_record_merge

    broken = 0
    deadline = time.monotonic() + 300
    while True:
        try:
            if broken and (
                GoldenRecord.objects.filter(
                    pk=absorbed, status=GoldenRecord.Status.MERGED
                ).exists()
            ):
                return {"tries": broken + 1, "committed_before_break": True}
            golden_record_merge(
                survivor=GoldenRecord.objects.get(pk=survivor),
                absorbed=[GoldenRecord.objects.get(pk=absorbed)],
                steward=steward,
                reason="D2 bench",
            )
            return {"tries": broken + 1, "committed_before_break": False}
        except DatabaseError:
            if time.monotonic() > deadline:
                raise
            broken += 1
            connections.close_all()
            time.sleep(0.5)


def produce(args, pool, workers, env, redis_server, result) -> None:
    from django.contrib.auth import get_user_model

    steward = get_user_model().objects.get(username="d2-steward")
    rng = random.Random(args.seed)
    faults = ["kill"] * args.kills + ["redis"] + ["postgres"]
    rng.shuffle(faults)
    at = sorted(rng.sample(range(args.merges // 20, args.merges), len(faults)))
    schedule = dict(zip(at, faults, strict=True))
    retried = 0
    for n in range(args.merges):
        outcome = merge_once(pool[2 * n], pool[2 * n + 1], steward)
        if outcome["tries"] > 1:
            retried += 1
            result["merges_committed_before_break"] += outcome["committed_before_break"]
        fault = schedule.get(n)
        if fault == "kill":
            result["kills"].append({"at_merge": n, **kill_one(workers, rng, env)})
        elif fault == "redis":
            result["redis_restart"] = {"at_merge": n, **redis_server.restart()}
        elif fault == "postgres":
            result["postgres_restart"] = {
                "at_merge": n,
                **pg_restart(args.pgdata, args.pg_log),
            }
        if fault:
            result["faults_ended_at"] = time.time()
        if n % 200 == 0:
            result["worker_crashes"] += supervise(workers, env)
    result["merges_retried"] = retried


def wait_drained(workers, env, result, stall_s: float) -> None:
    from datetime import timedelta

    from django.db import DatabaseError, connections
    from django.utils import timezone

    from mdm.models import DeliveryAttempt

    while True:
        try:
            if not open_deliveries():
                return
            since = timezone.now() - timedelta(seconds=stall_s)
            if not DeliveryAttempt.objects.filter(attempted_at__gte=since).exists():
                result["stalled"] = True
                return
        except DatabaseError:
            connections.close_all()
        result["worker_crashes"] += supervise(workers, env)
        time.sleep(1)


def check(pool: list[int], receivers: dict[str, Downstream]) -> dict:
    """What each receiver holds against what the database says."""
    from django.db.models import Count, Max

    from mdm.models import Delivery, DeliveryAttempt, GoldenRecord

    goldens = dict(GoldenRecord.objects.values_list("pk", "golden_id"))
    versions = dict(GoldenRecord.objects.values_list("golden_id", "version"))
    redirects = {
        goldens[pool[2 * n + 1]]: goldens[pool[2 * n]] for n in range(len(pool) // 2)
    }
    out: dict = {
        "deliveries": dict(
            Delivery.objects.values_list("state").annotate(n=Count("id"))
        ),
        "attempts": dict(
            DeliveryAttempt.objects.values_list("outcome").annotate(n=Count("id"))
        ),
        "last_delivered_at": Delivery.objects.filter(
            state=Delivery.State.DELIVERED
        ).aggregate(last=Max("delivered_at"))["last"],
    }
    for name, downstream in receivers.items():
        state = downstream.receiver.state
        keys = set(
            Delivery.objects.filter(target__name=name).values_list(
                "idempotency_key", flat=True
            )
        )
        survivors = {goldens[pool[2 * n]] for n in range(len(pool) // 2)}
        out[name] = {
            "merge_deliveries": len(keys),
            "seen": len(keys & state.seen_ids),
            "missing": len(keys - state.seen_ids),
            "applied_more_than_once": sum(len(v) > 1 for v in state.applied.values()),
            "duplicates_acknowledged": state.duplicates,
            "stale": state.stale,
            "redirects_wrong_or_missing": sum(
                state.redirects.get(a) != s for a, s in redirects.items()
            ),
            "survivors_not_at_db_version": sum(
                state.records.get(g, (0, {}))[0] != versions[g] for g in survivors
            ),
            "calls": dict(downstream.outcomes),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--merges", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--stall", type=float, default=60.0, help="seconds, see 4.")
    ap.add_argument("--database-url", required=True, help="PostgreSQL (recreated)")
    ap.add_argument("--pgdata", required=True, help="its data directory (pg_ctl)")
    ap.add_argument("--pg-log", help="server log after the restart; default ../log")
    ap.add_argument("--redis-port", type=int, default=6391)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    args.pg_log = args.pg_log or str(Path(args.pgdata).parent / "log")
    started = time.time()
    redis_server = RedisServer(args.redis_port)
    redis_server.start()
    erp, crm = Downstream(d2_faults(), seed=11), Downstream(d2_faults(), seed=12)
    env = fresh_django(
        args.database_url,
        BENCH_ERP_SECRET=erp.secret,
        BENCH_CRM_SECRET=crm.secret,
        REDIS_URL=redis_server.url,
    )
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("d2-steward")
    t0 = time.time()
    pool = make_pool(2 * args.merges)
    result: dict = {
        "merges": args.merges,
        "workers": args.workers,
        "faults": vars(d2_faults()),
        "pool_s": round(time.time() - t0, 1),
        "kills": [],
        "worker_crashes": 0,
        "merges_committed_before_break": 0,
        "stalled": False,
    }
    for downstream in (erp, crm):
        threading.Thread(target=downstream.server.serve_forever, daemon=True).start()
    add_target("erp", erp, "BENCH_ERP_SECRET")
    add_target("crm", crm, "BENCH_CRM_SECRET")
    worker_env = {**env, "PGAPPNAME": WORKER_APP}
    workers = start_workers(args.workers, worker_env)
    t0 = time.time()
    try:
        produce(args, pool, workers, worker_env, redis_server, result)
        result["produce_s"] = round(time.time() - t0, 1)
        wait_drained(workers, worker_env, result, args.stall)
        result["drain_s"] = round(time.time() - t0, 1)
    finally:
        stop_workers(workers)
        redis_server.stop()
    result.update(check(pool, {"erp": erp, "crm": crm}))
    last = result.pop("last_delivered_at")
    result["delivered_after_faults_ended_s"] = (
        round(last.timestamp() - result["faults_ended_at"], 1) if last else None
    )
    result["wall_s"] = round(time.time() - started, 1)
    result["load_average"] = os.getloadavg()
    result["machine"] = machine()
    result["failures"] = failures(result)
    print(json.dumps(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    if result["failures"]:
        raise SystemExit("D2 failed: " + "; ".join(result["failures"]))


def failures(result: dict) -> list[str]:
    """RELIABILITY D2's result, broken down; empty when it holds."""
    found = []
    if result["stalled"]:
        found.append("deliveries stalled")
    if set(result["deliveries"]) != {"delivered"}:
        found.append(f"delivery states {result['deliveries']}")
    for name in ("erp", "crm"):
        seen = result[name]
        if seen["merge_deliveries"] != result["merges"] or seen["missing"]:
            found.append(f"{name}: {seen['missing']} merges not delivered")
        for check in (
            "applied_more_than_once",
            "redirects_wrong_or_missing",
            "survivors_not_at_db_version",
        ):
            if seen[check]:
                found.append(f"{name}: {check} {seen[check]}")
    after = result["delivered_after_faults_ended_s"]
    if after is None or after > MAX_AFTER_FAULTS_S:
        found.append(f"last delivery {after} s after the faults ended")
    return found


if __name__ == "__main__":
    main()
