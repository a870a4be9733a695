"""Lookup soak at a fixed rate, and a PostgreSQL restart under load (RELIABILITY
L1, L6).

    # a loaded database (the loader of run_rest_ingest.py):
    .venv/bin/python bench/run_rest_ingest.py --database-url $DB \\
        --records 100000 --load-only
    .venv/bin/python bench/run_soak.py --database-url $DB --rate 200 --seconds 1800 \\
        --out var/bench/soak.json
    # the fault: restart PostgreSQL 120 s in, steward merges running beside
    .venv/bin/python bench/run_soak.py --database-url $DB --seconds 300 \\
        --restart-db-at 120 --pgdata /tmp/pg/data --out var/bench/soak_restart.json
    # overload far above what the workers serve, every request let through
    # to the server's queue (ulimit -n above --max-in-flight), with load
    # shedding (issue #8); without --queue-timeout-ms for the comparison
    .venv/bin/python bench/run_soak.py --database-url $DB --rate 2000 --seconds 300 \\
        --max-in-flight 30000 --stamp-request-start --queue-timeout-ms 8000 \\
        --out var/bench/soak_overload_shed.json

1. Server: gunicorn with deploy/gunicorn.conf.py, the product's settings
   (DEBUG off, rate limits on, counted in the default database cache),
   `--workers` sync workers, the real-time index not warmed (lookups do not
   match). Requests carry `X-Forwarded-Proto: https`, as behind the
   TLS-terminating proxy of docs/operations.md.
2. Lookups: GET /api/v1/golden-records/by-source/<system>/<source id>, keys
   drawn with a fixed seed from the loaded cross-references, shared by
   `--clients` API clients (tokens from `api_token_issue`) so that no client
   passes its own 100 req/s limit: 200 req/s is several ERP/CRM systems.
3. Client, a separate process: plain asyncio streams, open loop. Request i is due
   at start + i / rate whatever happened to the earlier ones, and its
   latency is measured from that due time, so a stall shows up in every
   request it delays (no coordinated omission). 10 s time-out; no cap on
   connections in flight beyond `--max-in-flight`. With
   `--stamp-request-start` each request carries `X-Request-Start:
   t=<seconds.ms>`, taken as it leaves (past `--max-in-flight`, before the
   connection is made), as nginx stamps a request it passes on; with
   `--queue-timeout-ms` the server sheds those that waited longer
   (REQUEST_QUEUE_TIMEOUT_MS, docs/operations.md). The report counts 503s
   apart, per minute too, with their latency, and the server's own count
   of requests shed (from /metrics, the warm-up included).
4. Merges beside (`--merge-rate` per second, on by default): a second
   process with its own database connection calls `review_task_merge`, as
   the web UI does, on review tasks opened before the run between pairs of
   loaded golden records, reading the versions first. Each merge it sees
   succeed is appended to a file and fsynced. A database error is counted;
   the process drops the connection and retries the task.
5. Fault (`--restart-db-at S`): S seconds in, `pg_ctl restart -m fast` on
   `--pgdata` (as the postgres user when run as root). The report gives how
   long non-200 answers lasted around it, their statuses, and when every
   answer was a 200 again (nothing is restarted but PostgreSQL).
6. Afterwards, every merge the side process saw succeed is checked in the
   database: task MERGED, its merge decision, the survivor's history row at
   the returned version, the golden.merged outbox event.
7. Server memory, every `--sample-every` seconds: the proportional set size
   of the gunicorn master and of each worker (/proc/<pid>/smaps_rollup, so
   pages shared after the fork count once). A leak shows as a total that
   keeps rising; a worker recycled after `max_requests` starts anew.

Prints one JSON object (and writes it to `--out`). Everything it is made
from is written to the run's work directory as the run goes (the lookups
answered, each minute; the merges; the memory samples), so that the figures
of a run cut short (a machine taken away, an operator's Ctrl-C) can still be
had:

    .venv/bin/python bench/run_soak.py report /tmp/gr-soak-XXXX --out soak.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from gunicorn_server import GunicornServer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
TIMEOUT_S = 10


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "mdm.settings",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }


def django_setup(database_url: str) -> None:
    os.environ.update(server_env(database_url))
    import django

    django.setup()


# --- preparation (orchestrator) ------------------------------------------------


def sample_keys(seed: int, count: int) -> list[tuple[str, str]]:
    """(system, source ID) of `count` loaded source records."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM mdm_sourcerecord")
        low, high = cursor.fetchone()
        rng = random.Random(seed)
        ids = sorted({rng.randint(low, high) for _ in range(count)})
        cursor.execute(
            "SELECT s.code, r.source_id FROM mdm_sourcerecord r "
            "JOIN mdm_sourcesystem s ON s.id = r.source_system_id "
            "WHERE r.id = ANY(%s)",
            [ids],
        )
        keys = cursor.fetchall()
    rng.shuffle(keys)
    return keys


def issue_tokens(count: int) -> list[str]:
    from mdm.models import ApiClient
    from mdm.services.api_tokens import api_token_issue

    tokens = []
    for n in range(count):
        client, _ = ApiClient.objects.get_or_create(
            name=f"bench-soak-{n}", defaults={"scopes": ["read"]}
        )
        tokens.append(api_token_issue(client=client).secret)
    return tokens


def open_merge_tasks(seed: int, count: int) -> list[int]:
    """Review tasks between pairs of loaded golden records (one record of
    each), as a matching run would open them; never two on one record."""
    from django.db import connection

    from mdm.models import SourceRecord
    from mdm.services.review_queue import review_task_open

    with connection.cursor() as cursor:
        # One record per active golden record, in random order.
        cursor.execute(
            "SELECT DISTINCT ON (x.golden_id) x.source_record_id "
            "FROM mdm_crossreference x "
            "JOIN mdm_goldenrecord g ON g.id = x.golden_id "
            "WHERE g.status = 'active' AND NOT EXISTS ("
            "  SELECT 1 FROM mdm_reviewtask t WHERE t.status = 'open' "
            "  AND x.source_record_id IN (t.left_id, t.right_id)) "
            "ORDER BY x.golden_id, x.source_record_id"
        )
        ids = [row[0] for row in cursor.fetchall()]
    rng = random.Random(seed)
    rng.shuffle(ids)
    ids = ids[: 2 * count]
    records = SourceRecord.objects.in_bulk(ids)
    tasks = []
    for a, b in zip(ids[0::2], ids[1::2], strict=False):
        tasks.append(
            review_task_open(a=records[a], b=records[b], score=0.8, evidence=[]).pk
        )
    return tasks


def make_steward() -> int:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from mdm.selectors.roles import STEWARDS_GROUP

    user, created = get_user_model().objects.get_or_create(username="soak-steward")
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.add(Group.objects.get_or_create(name=STEWARDS_GROUP)[0])
    return user.pk


# --- the server --------------------------------------------------------------


def start_server(
    database_url: str, workers: int, log: Path, queue_timeout_ms: int | None
) -> GunicornServer:
    env = {**server_env(database_url), "REALTIME_INDEX_WARM": "false"}
    if queue_timeout_ms is not None:
        env["REQUEST_QUEUE_TIMEOUT_MS"] = str(queue_timeout_ms)
    return GunicornServer.start(env, workers=workers, log=log)


def requests_shed(url: str) -> float | None:
    """golden_record_requests_shed_total of the server (all its workers)."""
    import httpx

    from mdm.env import env_secret

    token = env_secret("METRICS_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        text = httpx.get(url + "/metrics", headers=headers, timeout=60).text
    except httpx.HTTPError:
        return None
    for line in text.splitlines():
        if line.startswith("golden_record_requests_shed_total "):
            return float(line.split()[1])
    return None


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of the gunicorn master and its workers so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid):
            # utime, stime, and cutime, cstime: workers recycled and reaped
            total += sum(int(x) for x in fields[11:15])
        elif fields[1] == str(pid):  # a live worker (ppid)
            total += int(fields[11]) + int(fields[12])
    return total / tick


def pg_restart(pgdata: str, pg_log: str) -> dict:
    """`pg_ctl restart -m fast`, as the postgres user when we are root. The
    new server logs to `pg_log` (pg_ctl does not remember the -l of the
    first start; without it the server would hold our stdout open)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    cmd = [str(bins[-1]), "-D", pgdata, "-l", pg_log, "-m", "fast", "-w", "restart"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    started = time.time()
    with tempfile.TemporaryFile("w+") as out:
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
        out.seek(0)
        output = out.read()
    return {
        "started_at": started,
        "pg_ctl_s": round(time.time() - started, 2),
        "returncode": done.returncode,
        "output": output.strip()[-500:],
    }


def server_memory(pid: int) -> dict:
    """Proportional set size (MiB: shared pages split between the processes
    sharing them, so the sum is what the server costs) of the gunicorn
    master and of each live worker."""

    def pss_mib(proc: Path) -> float | None:
        try:
            for line in (proc / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:  # a worker that just exited
            return None
        return None

    workers = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = stat.read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if ppid == str(pid):
            size = pss_mib(stat.parent)
            if size is not None:
                workers[int(stat.parent.name)] = size
    return {"master_mib": pss_mib(Path(f"/proc/{pid}")), "workers_mib": workers}


def sample_memory(pid: int, start_at: float, every: float, stop, path: Path) -> None:
    """Append server_memory() to `path` every `every` seconds until `stop` is
    set, one JSON line each (kept if the run is cut short)."""
    with path.open("a") as out:
        while not stop.wait(every):
            sample = {"at_s": round(time.time() - start_at), **server_memory(pid)}
            out.write(json.dumps(sample) + "\n")
            out.flush()


def memory_summary(samples: list[dict]) -> dict:
    """Totals over the run: a leak shows as a total that keeps rising; a
    worker recycled after max_requests (deploy/gunicorn.conf.py) starts anew."""
    if not samples:
        return {}
    totals = [(s["master_mib"] or 0) + sum(s["workers_mib"].values()) for s in samples]
    pids = {pid for s in samples for pid in s["workers_mib"]}
    return {
        "samples": len(samples),
        "total_mib_first_last_max": [totals[0], totals[-1], max(totals)],
        "master_mib_first_last": [samples[0]["master_mib"], samples[-1]["master_mib"]],
        "worker_max_mib": max(
            (mib for s in samples for mib in s["workers_mib"].values()), default=None
        ),
        "workers_seen": len(pids),
        "per_sample": [
            {
                "at_s": s["at_s"],
                "total_mib": round(total, 1),
                "master_mib": s["master_mib"],
                "workers_mib": sorted(s["workers_mib"].values()),
            }
            for s, total in zip(samples, totals, strict=True)
        ],
    }


# --- the lookup client (its own process) --------------------------------------


async def drive(args) -> None:
    """Open loop over plain asyncio streams: one HTTP/1.1 request per
    connection (gunicorn's sync workers close it anyway). httpx cost ~1 ms
    of CPU a request; at 200 req/s on a loaded machine the client fell
    behind and left connections open without a request on them."""
    keys = json.loads(Path(args.keys).read_text())
    tokens = args.tokens.split(",")
    host, port = args.url.removeprefix("http://").split(":")
    requests = [
        (
            f"GET /api/v1/golden-records/by-source/{system}/{quote(source_id)} "
            f"HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {tokens[i % len(tokens)]}\r\n"
            "X-Forwarded-Proto: https\r\nConnection: close\r\n"
        ).encode()  # the blank line ending the head is added when sent
        for i, (system, source_id) in enumerate(keys)
    ]
    total = int(args.seconds * args.rate)
    finished: list[tuple[int, float, float, int]] = []  # not yet written out
    gate = asyncio.Semaphore(args.max_in_flight)

    async def get(i: int) -> int:
        async with gate:
            # Stamped before connecting: a wait for the server to accept the
            # connection is queue time too, as behind nginx.
            stamp = (
                f"X-Request-Start: t={time.time():.3f}\r\n".encode()
                if args.stamp_request_start
                else b""
            )
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                writer.write(requests[i % len(requests)] + stamp + b"\r\n")
                head = await reader.readline()
                await reader.read()  # the body, until the server closes
                return int(head.split()[1])
            finally:
                writer.close()

    async def one(i: int, due: float) -> None:
        # The caller's 10 s time-out runs from when it wanted to ask,
        # waiting for a free connection included.
        try:
            code = await asyncio.wait_for(get(i), TIMEOUT_S - (time.time() - due))
        except (OSError, ValueError, IndexError, TimeoutError):
            code = 0
        # latency from the due time, not the send
        finished.append((i, due - start, time.time() - due, code))

    def write_finished() -> None:
        # A few hundred kB a minute: short enough not to stall the loop.
        out.write(
            "".join(f"{i}\t{s:.4f}\t{lat:.5f}\t{c}\n" for i, s, lat, c in finished)
        )
        out.flush()
        finished.clear()

    async def checkpoint() -> None:
        while True:
            await asyncio.sleep(args.checkpoint_every)
            write_finished()

    start = args.start_at
    await asyncio.sleep(max(0.0, start - time.time()))
    tasks = set()
    with open(args.out, "w") as out:
        writer = asyncio.create_task(checkpoint())
        for i in range(total):
            due = start + i / args.rate
            await asyncio.sleep(max(0.0, due - time.time()))  # always yield
            task = asyncio.create_task(one(i, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        writer.cancel()
        write_finished()


def quote(text: str) -> str:
    from urllib.parse import quote as q

    return q(text, safe="")


def client_main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--start-at", type=float, required=True)
    ap.add_argument("--max-in-flight", type=int, required=True)
    ap.add_argument("--stamp-request-start", action="store_true")
    ap.add_argument("--checkpoint-every", type=float, default=60)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    asyncio.run(drive(args))


def read_requests(path: Path) -> dict:
    """The client's file: one line per answered (or timed-out) request, in
    the order they finished; a run cut short has every line written so far."""
    rows = sorted(
        (int(i), float(when), float(lat), int(code))
        for i, when, lat, code in (line.split("\t") for line in path.open())
    )
    return {
        "scheduled": [r[1] for r in rows],
        "latency": [r[2] for r in rows],
        "status": [r[3] for r in rows],
    }


# --- the steward merging beside (its own process) -----------------------------


def merger_main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--tasks", required=True)
    ap.add_argument("--steward", type=int, required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--start-at", type=float, required=True)
    ap.add_argument("--until", type=float, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    django_setup(args.database_url)
    from django.contrib.auth import get_user_model
    from django.db import InterfaceError, OperationalError, connection

    from mdm.models import CrossReference, ReviewTask
    from mdm.services.errors import ConflictError, DomainError
    from mdm.services.steward_queue import review_task_merge

    steward = get_user_model().objects.get(pk=args.steward)
    tasks = json.loads(Path(args.tasks).read_text())
    time.sleep(max(0.0, args.start_at - time.time()))
    with open(args.out, "a") as log:

        def note(**entry) -> None:
            log.write(json.dumps({"at": time.time(), **entry}) + "\n")
            log.flush()
            os.fsync(log.fileno())

        i, failed_before = 0, False
        while i < len(tasks) and time.time() < args.until:
            due = args.start_at + i / args.rate
            time.sleep(max(0.0, due - time.time()))
            try:
                task = ReviewTask.objects.get(pk=tasks[i])
                versions = {
                    gid: version
                    for gid, version in CrossReference.objects.filter(
                        source_record_id__in=[task.left_id, task.right_id]
                    ).values_list("golden__golden_id", "golden__version")
                }
                merged = review_task_merge(
                    task=task,
                    steward=steward,
                    reason="soak",
                    keep="left",
                    overrides={},
                    versions=versions,
                )
            except (OperationalError, InterfaceError) as exc:
                # The database went away: drop the connection (Django would
                # at the end of a request) and try the same task again.
                note(task=tasks[i], outcome="db_error", error=type(exc).__name__)
                connection.close()
                failed_before = True
                time.sleep(0.5)
                continue
            except ConflictError as exc:
                # After a database error the earlier attempt may have
                # committed (the answer was lost): the task is then closed.
                outcome = "ambiguous" if failed_before else "conflict"
                note(task=tasks[i], outcome=outcome, error=str(exc)[:200])
            except DomainError as exc:
                note(task=tasks[i], outcome="refused", error=str(exc)[:200])
            else:
                note(
                    task=tasks[i],
                    outcome="merged",
                    golden=merged.golden_id,
                    version=merged.version,
                )
            i, failed_before = i + 1, False


def verify_merges(lines: list[dict], steward_id: int) -> dict:
    from mdm.models import GoldenRecord, OutboxEvent, ReviewTask, StewardDecision

    merged = [e for e in lines if e["outcome"] == "merged"]
    tasks = dict(
        ReviewTask.objects.filter(pk__in=[e["task"] for e in lines]).values_list(
            "pk", "status"
        )
    )
    decisions = Counter(
        reason.split("review task ")[1].split(",")[0]
        for reason in StewardDecision.objects.filter(
            kind=StewardDecision.Kind.MERGE, decided_by_id=steward_id
        ).values_list("reason", flat=True)
    )
    history = set(
        GoldenRecord.history.model.objects.filter(
            history_user_id=steward_id
        ).values_list("golden_id", "version")
    )
    events = set(
        OutboxEvent.objects.filter(topic=OutboxEvent.Topic.MERGED).values_list(
            "golden_id", "version"
        )
    )
    lost = []
    for e in merged:
        key = (e["golden"], e["version"])
        if not (
            tasks.get(e["task"]) == ReviewTask.Status.MERGED
            and decisions[str(e["task"])] == 1
            and key in history
            and key in events
        ):
            lost.append(e)
    ambiguous = [e["task"] for e in lines if e["outcome"] == "ambiguous"]
    return {
        "merges_seen_succeeding": len(merged),
        "lost": len(lost),
        "lost_samples": lost[:10],
        "db_errors_seen": sum(1 for e in lines if e["outcome"] == "db_error"),
        "conflicts": sum(1 for e in lines if e["outcome"] == "conflict"),
        # Committed although the side process saw an error: not lost.
        "ambiguous_then_found_merged": sum(
            1 for t in ambiguous if tasks.get(t) == ReviewTask.Status.MERGED
        ),
        "ambiguous": len(ambiguous),
    }


# --- reporting ------------------------------------------------------------------


def drop_warm_up(raw: dict, warm_up: float) -> dict:
    """The requests due after the warm-up, timed from its end."""
    keep = [i for i, when in enumerate(raw["scheduled"]) if when >= warm_up]
    return {
        "scheduled": [raw["scheduled"][i] - warm_up for i in keep],
        "latency": [raw["latency"][i] for i in keep],
        "status": [raw["status"][i] for i in keep],
    }


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)


def summarise(raw: dict, rate: float, restart: dict | None, start_at: float) -> dict:
    scheduled, latency, status = raw["scheduled"], raw["latency"], raw["status"]
    n = len(status)
    ok = sorted(lat for lat, code in zip(latency, status, strict=True) if code == 200)
    every = sorted(latency)
    codes = Counter(status)
    end = max(scheduled, default=0)
    minutes: dict[int, dict] = defaultdict(
        lambda: {"n": 0, "errors": 0, "503": 0, "no_answer": 0, "lat": []}
    )
    answered: Counter = Counter()  # 200s by the minute they came back
    for when, lat, code in zip(scheduled, latency, status, strict=True):
        minute = minutes[int(when // 60)]
        minute["n"] += 1
        minute["lat"].append(lat)
        minute["errors"] += code != 200
        minute["503"] += code == 503
        minute["no_answer"] += code == 0  # time-out or connection error
        answered[int((when + lat) // 60)] += code == 200
    per_minute = []
    for m in sorted(minutes):
        lat = sorted(minutes[m]["lat"])
        per_minute.append(
            {
                "minute": m + 1,
                "requests": minutes[m]["n"],
                "due_per_s": round(minutes[m]["n"] / max(1, min(60, end - 60 * m)), 1),
                "ok_per_s": round(answered[m] / max(1, min(60, end - 60 * m)), 1),
                "errors": minutes[m]["errors"],
                "status_503": minutes[m]["503"],
                "no_answer": minutes[m]["no_answer"],
                "p50_ms": pct(lat, 0.5),
                "p99_ms": pct(lat, 0.99),
            }
        )
    summary = {
        "requests": n,
        "rate_per_s": rate,
        "statuses": {str(k): v for k, v in sorted(codes.items())},
        "error_rate": round(1 - codes.get(200, 0) / n, 5) if n else None,
        "latency_all_ms": {
            "p50": pct(every, 0.5),
            "p95": pct(every, 0.95),
            "p99": pct(every, 0.99),
            "max": pct(every, 1.0),
        },
        "latency_200_ms": {
            "p50": pct(ok, 0.5),
            "p95": pct(ok, 0.95),
            "p99": pct(ok, 0.99),
        },
        "per_minute": per_minute,
    }
    unavailable = sorted(
        lat for lat, code in zip(latency, status, strict=True) if code == 503
    )
    if unavailable:  # shed (or the database away): how fast they came back
        summary["latency_503_ms"] = {
            "p50": pct(unavailable, 0.5),
            "p99": pct(unavailable, 0.99),
        }
    if restart:
        summary["outage"] = outage(scheduled, latency, status, restart, start_at)
    return summary


def outage(scheduled, latency, status, restart: dict, start_at: float) -> dict:
    """How long answers other than 200 lasted around the restart."""
    at = restart["started_at"] - start_at
    near = [
        (when, when + lat, code)
        for when, lat, code in zip(scheduled, latency, status, strict=True)
        if at - 5 <= when <= at + 300
    ]
    bad = [(when, done, code) for when, done, code in near if code != 200]
    if not bad:
        return {"restart_at_s": round(at, 1), "non_200": 0}
    first_bad = min(when for when, _, _ in bad)
    last_bad = max(when for when, _, _ in bad)
    # Slow answers count too: a 200 that took 10 s is an outage for its caller.
    slow = [when for when, done, code in near if code == 200 and done - when > 1]
    return {
        "restart_at_s": round(at, 1),
        "pg_ctl_restart_s": restart["pg_ctl_s"],
        "non_200": len(bad),
        "statuses": {str(k): v for k, v in Counter(c for _, _, c in bad).items()},
        "first_non_200_at_s": round(first_bad, 2),
        "last_non_200_at_s": round(last_bad, 2),
        "non_200_window_s": round(last_bad - first_bad, 2),
        "after_restart_began_s": round(last_bad - at, 2),
        "answers_over_1s": len(slow),
        "last_answer_over_1s_at_s": round(max(slow), 2) if slow else None,
    }


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
        ),
        "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# --- main -----------------------------------------------------------------------


def main() -> None:
    if sys.argv[1:2] == ["client"]:
        return client_main(sys.argv[2:])
    if sys.argv[1:2] == ["merger"]:
        return merger_main(sys.argv[2:])
    if sys.argv[1:2] == ["report"]:
        return report_main(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True, help="a loaded PostgreSQL DB")
    ap.add_argument("--rate", type=float, default=200, help="lookups per second")
    ap.add_argument("--seconds", type=float, default=1800)
    ap.add_argument(
        "--warm-up", type=float, default=30, help="seconds at the rate, not counted"
    )
    ap.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    ap.add_argument("--clients", type=int, default=4, help="API tokens sharing it")
    ap.add_argument("--max-in-flight", type=int, default=256)
    ap.add_argument(
        "--stamp-request-start",
        action="store_true",
        help="send X-Request-Start: t=<send time>, as nginx would",
    )
    ap.add_argument(
        "--queue-timeout-ms",
        type=int,
        help="the server's REQUEST_QUEUE_TIMEOUT_MS (load shedding); default: off",
    )
    ap.add_argument("--keys", type=int, default=20_000)
    ap.add_argument("--merge-rate", type=float, default=1.0, help="0: no merges")
    ap.add_argument("--restart-db-at", type=float, help="seconds into the run")
    ap.add_argument("--pgdata", help="the server's data directory (for pg_ctl)")
    ap.add_argument("--pg-log", help="server log after the restart; default: ../log")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument(
        "--sample-every", type=float, default=60, help="seconds between memory samples"
    )
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.restart_db_at is not None and not args.pgdata:
        ap.error("--restart-db-at needs --pgdata")

    env = server_env(args.database_url)
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    django_setup(args.database_url)
    from django.db import connections

    from mdm.models import GoldenRecord, SourceRecord

    work = Path(tempfile.mkdtemp(prefix="gr-soak-"))
    keys = sample_keys(args.seed, args.keys)
    (work / "keys.json").write_text(json.dumps(keys))
    tokens = issue_tokens(args.clients)
    steward_id = make_steward()
    merge_count = int(args.merge_rate * args.seconds) + 10 if args.merge_rate else 0
    tasks = open_merge_tasks(args.seed, merge_count) if merge_count else []
    (work / "tasks.json").write_text(json.dumps(tasks))
    run = {
        "command": " ".join(sys.argv),
        "database_url": args.database_url,
        "database": {
            "source_records": SourceRecord.objects.count(),
            "golden_records": GoldenRecord.objects.count(),
        },
        "workers": args.workers,
        "api_clients": args.clients,
        "rate": args.rate,
        "seconds": args.seconds,
        "warm_up": args.warm_up,
        "stamp_request_start": args.stamp_request_start,
        "queue_timeout_ms": args.queue_timeout_ms,
        # The rate-limit counters: Redis when REDIS_URL is set, else the
        # database cache.
        "cache": "redis" if os.environ.get("REDIS_URL") else "database",
        "steward_id": steward_id,
        "merges": bool(tasks),
    }
    connections.close_all()
    print(
        f"prepared: {run['database']}, {len(tasks)} merge tasks, in {work}",
        file=sys.stderr,
    )

    server = start_server(
        args.database_url, args.workers, work / "gunicorn.log", args.queue_timeout_ms
    )
    procs = []
    stop = threading.Event()
    try:
        server.wait_answering("/healthz", timeout=600)
        # The workers' first requests (connections, lazy imports) come
        # during the warm-up, at the same rate; only what follows counts.
        warm_at = time.time() + 5
        start_at = warm_at + args.warm_up
        run["start_at"] = start_at
        (work / "run.json").write_text(json.dumps(run))
        client = subprocess.Popen(
            [
                PYTHON, __file__, "client", "--url", server.url,
                "--keys", str(work / "keys.json"), "--tokens", ",".join(tokens),
                "--rate", str(args.rate),
                "--seconds", str(args.warm_up + args.seconds),
                "--start-at", str(warm_at),
                "--max-in-flight", str(args.max_in_flight),
                *(["--stamp-request-start"] if args.stamp_request_start else []),
                "--out", str(work / "requests.tsv"),
            ],
            cwd=ROOT,
        )  # fmt: skip
        procs.append(client)
        if tasks:
            procs.append(
                subprocess.Popen(
                    [
                        PYTHON,
                        __file__,
                        "merger",
                        "--database-url",
                        args.database_url,
                        "--tasks",
                        str(work / "tasks.json"),
                        "--steward",
                        str(steward_id),
                        "--rate",
                        str(args.merge_rate),
                        "--start-at",
                        str(start_at),
                        "--until",
                        str(start_at + args.seconds),
                        "--out",
                        str(work / "merges.jsonl"),
                    ],
                    cwd=ROOT,
                )  # fmt: skip
            )
        time.sleep(max(0.0, start_at - time.time()))
        cpu_at_start = server_cpu_seconds(server.process.pid)
        run["load_average_at_start"] = [round(x, 1) for x in os.getloadavg()]
        threading.Thread(
            target=sample_memory,
            args=(
                server.process.pid,
                start_at,
                args.sample_every,
                stop,
                work / "memory.jsonl",
            ),
            daemon=True,
        ).start()
        if args.restart_db_at is not None:
            time.sleep(max(0.0, start_at + args.restart_db_at - time.time()))
            pg_log = args.pg_log or str(Path(args.pgdata).resolve().parent / "log")
            run["restart"] = pg_restart(args.pgdata, pg_log)
            print(f"restarted PostgreSQL: {run['restart']}", file=sys.stderr)
        client.wait()
        # gunicorn (master and workers) during the counted part of the run.
        run["server_cpu_seconds"] = round(
            server_cpu_seconds(server.process.pid) - cpu_at_start, 1
        )
        stop.set()
        for proc in procs:
            proc.wait()
        if args.queue_timeout_ms:
            # The server's count, warm-up included (the statuses are not).
            run["requests_shed_metric"] = requests_shed(server.url)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        server.stop()
    if client.returncode:
        raise SystemExit("the client failed")
    run["finished"] = True
    (work / "run.json").write_text(json.dumps(run))
    write_report(work, args.out)


def report(work: Path) -> dict:
    """The run's figures from its work directory: also for a run cut short
    (the lookups answered and the memory samples taken until then; no server
    CPU)."""
    run = json.loads((work / "run.json").read_text())
    raw = drop_warm_up(read_requests(work / "requests.tsv"), run["warm_up"])
    memory = work / "memory.jsonl"
    samples = (
        [json.loads(line) for line in memory.read_text().splitlines()]
        if memory.exists()
        else []
    )
    result = {
        key: run[key]
        for key in (
            "command", "database", "workers", "api_clients", "seconds",
            "stamp_request_start", "queue_timeout_ms", "cache",
        )
    }  # fmt: skip
    result["machine"] = machine()
    result["finished"] = run.get("finished", False)
    result["lookups"] = summarise(raw, run["rate"], run.get("restart"), run["start_at"])
    for key in (
        "server_cpu_seconds",
        "load_average_at_start",
        "requests_shed_metric",
        "restart",
    ):
        if key in run:
            result[key] = run[key]
    result["server_memory"] = memory_summary(samples)
    if run["merges"]:
        lines = [
            json.loads(line)
            for line in (work / "merges.jsonl").read_text().splitlines()
            if line.strip()
        ]
        result["merges"] = verify_merges(lines, run["steward_id"])
    log = (work / "gunicorn.log").read_text()
    result["server_log"] = {
        "tracebacks": log.count("Traceback"),
        "internal_server_errors": log.count("Internal Server Error"),
        "service_unavailable": log.count("Service Unavailable"),
        "requests_shed": log.count("request shed: "),
    }
    result["work_dir"] = str(work)
    return result


def write_report(work: Path, out: str | None) -> None:
    text = json.dumps(report(work), indent=1)
    print(text)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n")


def report_main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description="the figures of a soak's work directory")
    ap.add_argument("work_dir", type=Path)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    run = json.loads((args.work_dir / "run.json").read_text())
    django_setup(run["database_url"])
    write_report(args.work_dir, args.out)


if __name__ == "__main__":
    main()
