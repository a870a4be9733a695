"""Steward contention on PostgreSQL (RELIABILITY C8), pgbench-style.

    .venv/bin/python bench/run_contention.py --database-url postgres://…/contention \\
        --clients 64 --seconds 600 --out var/bench/contention.json

1. Setup: `--clients` steward users; `--clusters` hot clusters of
   `--records-per-cluster` ERP records each (through `source_record_upsert`),
   every record in its own golden record, a review task for every pair.
2. Load: `--clients` stewards, each a thread with its own PostgreSQL
   connection, spread over `--processes` processes (one process cannot run
   64 Python threads on more than one core). Each steward loops until the
   time is up, with no think time (`--think-ms` adds some): pick a hot
   cluster at random, read what the page would show (an open task and the
   versions of its two golden records; a golden record and its version; a
   merge not yet undone and the survivor's version), then call the service
   the web UI calls with those expected versions: `review_task_merge`
   ("approve"), `review_task_not_a_match`, `golden_record_pin_set` (an edit
   of the legal name) or `golden_record_unmerge`, in the `--mix` shares.
   A deadlock or serialization failure is counted and the same call retried
   (up to `--max-tries`, like pgbench); a ConflictError is the 409 a steward
   sees (someone else was faster); any other exception is an error.
3. Feeder: one more thread plays the matching run, so the clusters stay hot:
   every 0.2 s it opens review tasks for pairs of a cluster that sit in two
   golden records, have no open task and no not-a-match decision; when a
   cluster has none left it adds a new record (up to `--max-records`).
4. Verification, after the load: every successful action is in the
   database (a merge: task MERGED, the survivor's history row at the
   returned version by that steward and naming that task, one merge
   decision, one outbox event; not-a-match: its decision and the task; an
   edit: the history row at the returned version with that value; an
   unmerge: one split decision undoing that merge); the number of decisions
   and edits written equals the number of successes; every golden record's
   history is exactly versions 1..n; every source record is in exactly one
   golden record, an active one.

Latencies are wall time of the service call (retries included), from the
client thread; "approve" is `review_task_merge`.

`--slots N` serves the stewards as the product does, through a fixed number
of app workers: each process then runs at most N requests at a time (a page
read and an action are one request each), and the other stewards' requests
wait for a free slot, that wait counted in their latency. `--processes 8
--slots 1` is 64 stewards on 8 sync gunicorn workers (WEB_CONCURRENCY=8), a
steward pinned to one worker rather than taken by whichever is free. Without
it every steward thread is inside the database at once, and a thread holding
a cluster's row locks queues for its process's GIL behind the others.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict, deque
from contextlib import nullcontext
from functools import partial
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
KINDS = ("merge", "not_a_match", "pin", "unmerge")
NAMES = (
    "北京华盛科技有限公司",
    "华盛科技(北京)有限公司",
    "北京华盛科技",
    "华盛科技有限公司",
    "北京市华盛科技有限责任公司",
)


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")
    import django

    django.setup()


# --- setup -------------------------------------------------------------------


def make_stewards(tag: str, count: int) -> list[int]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from mdm.selectors.roles import STEWARDS_GROUP

    group, _ = Group.objects.get_or_create(name=STEWARDS_GROUP)
    ids = []
    for n in range(count):
        user = get_user_model()(username=f"c8-{tag}-{n:02d}")
        user.set_unusable_password()  # hashing 64 passwords would take a minute
        user.save()
        user.groups.add(group)
        ids.append(user.pk)
    return ids


def add_record(tag: str, cluster: int, n: int, rng: random.Random):
    from mdm.models import SourceSystem
    from mdm.services.golden_records import golden_record_create
    from mdm.services.source_records import source_record_upsert

    source_id = f"C8-{tag}-{cluster}-{n:03d}"
    record = source_record_upsert(
        system=SourceSystem.objects.get(code="erp"),
        source_id=source_id,
        payload={
            "FNumber": source_id,
            "FName": f"{rng.choice(NAMES)}{cluster}",
            "FTel": f"010-6{cluster:02d}{n:05d}",
        },
    ).record
    golden_record_create(members=[record])
    return record


def make_clusters(tag: str, clusters: int, size: int, seed: int) -> list[str]:
    """The clusters' source-ID prefixes (the feeder adds records later)."""
    from mdm.services.review_queue import review_task_open

    rng = random.Random(seed)
    for c in range(clusters):
        records = [add_record(tag, c, n, rng) for n in range(size)]
        for a, b in combinations(records, 2):
            review_task_open(a=a, b=b, score=0.8, evidence=[])
    return [f"C8-{tag}-{c}-" for c in range(clusters)]


def members_of(prefix: str) -> list[int]:
    from mdm.models import SourceRecord

    return list(
        SourceRecord.objects.filter(source_id__startswith=prefix).values_list(
            "pk", flat=True
        )
    )


# --- what a steward's page shows ---------------------------------------------


def goldens_of(record_ids: list[int]) -> dict[int, tuple[int, str, int]]:
    """{source record id: (golden pk, golden ID, version)}"""
    from mdm.models import CrossReference

    return {
        sid: (gpk, gid, version)
        for sid, gpk, gid, version in CrossReference.objects.filter(
            source_record_id__in=record_ids
        ).values_list(
            "source_record_id", "golden_id", "golden__golden_id", "golden__version"
        )
    }


def read_open_task(record_ids: list[int], rng: random.Random):
    from mdm.models import ReviewTask

    tasks = list(
        ReviewTask.objects.filter(
            status=ReviewTask.Status.OPEN, left_id__in=record_ids
        ).only("pk", "left_id", "right_id", "score")
    )
    if not tasks:
        return None
    task = rng.choice(tasks)
    seen = goldens_of([task.left_id, task.right_id])
    return task, {gid: version for _, gid, version in seen.values()}


def read_golden(record_ids: list[int], rng: random.Random):
    from mdm.models import GoldenRecord

    seen = goldens_of(record_ids)
    if not seen:
        return None
    gpk, _, _ = rng.choice(list(seen.values()))
    return GoldenRecord.objects.get(pk=gpk)


def read_undoable_merge(record_ids: list[int], rng: random.Random):
    from mdm.models import StewardDecision

    live = {gid: version for _, gid, version in goldens_of(record_ids).values()}
    undone = set(
        StewardDecision.objects.filter(kind=StewardDecision.Kind.SPLIT).values_list(
            "details__unmerge_of", flat=True
        )
    )
    merges = [
        merge
        for merge in StewardDecision.objects.filter(
            kind=StewardDecision.Kind.MERGE, details__survivor__in=list(live)
        ).only("pk", "details")
        if merge.pk not in undone
    ]
    if not merges:
        return None
    merge = rng.choice(merges)
    return merge, live[merge.details["survivor"]]


# --- one steward ---------------------------------------------------------------


def classify(exc: BaseException) -> str:
    import psycopg.errors as pe
    from django.db import OperationalError

    from mdm.services.errors import ConflictError, DomainError

    if isinstance(exc, ConflictError):
        return "conflict"
    if isinstance(exc, DomainError):
        return "refused"
    if isinstance(exc, OperationalError):
        cause = exc.__cause__
        if isinstance(cause, pe.DeadlockDetected):
            return "deadlock"
        if isinstance(cause, pe.SerializationFailure):
            return "serialization"
        if isinstance(cause, pe.LockNotAvailable):
            return "lock_timeout"
    return "error"


RETRIED = ("deadlock", "serialization", "lock_timeout")


def steward_loop(
    steward_id: int, clusters: list[str], args, deadline: float, out: dict, slots
) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    rng = random.Random(args.seed * 1000 + steward_id)
    steward = get_user_model().objects.get(pk=steward_id)
    kinds, weights = zip(*args.mix.items(), strict=True)
    n = 0
    try:
        while time.time() < deadline:
            n += 1
            try:
                with slots:
                    kind, call, note = plan(
                        rng.choices(kinds, weights)[0],
                        members_of(rng.choice(clusters)),
                        steward,
                        n,
                        rng,
                    )
            except Exception as exc:  # noqa: BLE001 - a failed page read, counted
                record_error(out, "read", exc)
                continue
            if args.think_ms:
                time.sleep(rng.uniform(0, 2 * args.think_ms) / 1000)
            act(kind, call, note, steward_id, args, out, slots)
    finally:
        connection.close()


def plan(kind: str, members: list[int], steward, n: int, rng: random.Random):
    """Read what the steward's page shows; return the call its form makes."""
    from mdm.services.golden_records import golden_record_pin_set
    from mdm.services.steward_queue import review_task_merge, review_task_not_a_match
    from mdm.services.unmerge import golden_record_unmerge

    if kind in ("merge", "not_a_match"):
        seen = read_open_task(members, rng)
        if seen is not None:
            task, versions = seen
            note = {"task": task.pk}
            if kind == "not_a_match":
                return (
                    kind,
                    partial(
                        review_task_not_a_match,
                        task=task,
                        steward=steward,
                        reason="c8",
                        versions=versions,
                    ),
                    note,
                )
            # Both records already in one golden record (the feeder opened
            # the task as a merge joined them): the service closes the task
            # as obsolete, which is no merge.
            kind = "merge" if len(versions) > 1 else "obsolete"
            return (
                kind,
                partial(
                    review_task_merge,
                    task=task,
                    steward=steward,
                    reason="c8",
                    keep=rng.choice(("left", "right")),
                    overrides={},
                    versions=versions,
                ),
                note,
            )
    if kind == "unmerge":
        seen = read_undoable_merge(members, rng)
        if seen is not None:
            merge, version = seen
            return (
                "unmerge",
                partial(
                    golden_record_unmerge,
                    decision=merge,
                    steward=steward,
                    reason="c8",
                    expected_version=version,
                ),
                {"merge": merge.pk},
            )
    # "pin", or nothing left to merge / undo in this cluster: edit a value.
    golden = read_golden(members, rng)
    value = f"华盛科技 {steward.get_username()} {n}"
    return (
        "pin",
        partial(
            golden_record_pin_set,
            golden=golden,
            attribute="legal_name",
            value=value,
            steward=steward,
            expected_version=golden.version,
        ),
        {"value": value},
    )


def act(kind: str, call, note: dict, steward_id: int, args, out: dict, slots) -> None:
    """Call the service; retry a deadlock or serialization failure as
    pgbench --max-tries does; time the whole, the wait for a free slot and
    retries included."""
    started = time.perf_counter()
    with slots:
        outcome, result = call_with_retries(kind, call, args, out)
    if outcome in RETRIED:
        outcome = "gave_up"  # still deadlocking after --max-tries: an error
        out["counts"][f"{kind}:gave_up"] += 1
    elapsed = time.perf_counter() - started
    out["latency"][kind].append(elapsed)
    out["latency"][f"{kind}:{outcome}"].append(elapsed)
    if outcome == "won":
        out["counts"][f"{kind}:won"] += 1
        out["won"].append(won_record(kind, result, steward_id, note))


def call_with_retries(kind: str, call, args, out: dict) -> tuple[str, object]:
    outcome, result = "error", None
    for _ in range(args.max_tries):
        try:
            result = call()
            outcome = "won"
            break
        except Exception as exc:  # noqa: BLE001 - classified and counted
            outcome = classify(exc)
            out["counts"][f"{kind}:{outcome}"] += 1
            if outcome in RETRIED:
                out["retries"][outcome] += 1
                continue
            if outcome == "error":
                record_error(out, kind, exc, counted=True)
            break
    return outcome, result


def record_error(out: dict, kind: str, exc: BaseException, counted=False) -> None:
    if not counted:
        out["counts"][f"{kind}:error"] += 1
    if len(out["errors"]) < 20:
        text = "".join(traceback.format_exception_only(exc)).strip()
        out["errors"].append(f"{kind}: {text[:500]}")


def won_record(kind: str, result, steward_id: int, note: dict) -> dict:
    if kind in ("merge", "pin"):
        note |= {"golden": result.golden_id, "version": result.version}
    elif kind == "obsolete":
        pass
    else:  # not-a-match and unmerge return the decision they wrote
        note |= {"decision": result.pk}
    return {"kind": kind, "steward": steward_id, **note}


class FifoSlots:
    """N slots handed to waiting threads first come, first served, as an
    accept queue serves connections. (A threading.Semaphore lets the thread
    that just released take its slot again before the woken waiter runs: one
    steward could starve the others of its process for seconds.)"""

    def __init__(self, count: int) -> None:
        self._lock = threading.Lock()
        self._free = count
        self._waiting: deque[threading.Event] = deque()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()

    def __exit__(self, *exc) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()  # the slot goes straight to it
            else:
                self._free += 1


def worker_process(
    steward_ids: list[int], clusters: list[list[int]], args, start_at: float, queue
) -> None:
    from django.db import connections

    connections.close_all()
    outs = []
    threads = []
    deadline = start_at + args.seconds
    # --slots N: the process serves N requests at a time, as N gunicorn
    # workers would; the other stewards' requests wait their turn.
    slots = FifoSlots(args.slots) if args.slots else nullcontext()
    for steward_id in steward_ids:
        out = {
            "counts": Counter(),
            "retries": Counter(),
            "latency": defaultdict(list),
            "won": [],
            "errors": [],
        }
        outs.append(out)
        threads.append(
            threading.Thread(
                target=steward_loop,
                args=(steward_id, clusters, args, deadline, out, slots),
                daemon=True,
            )
        )
    time.sleep(max(0.0, start_at - time.time()))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = {
        "counts": Counter(),
        "retries": Counter(),
        "latency": defaultdict(list),
        "won": [],
        "errors": [],
    }
    for out in outs:
        merged["counts"] += out["counts"]
        merged["retries"] += out["retries"]
        for key, values in out["latency"].items():
            merged["latency"][key].extend(values)
        merged["won"].extend(out["won"])
        merged["errors"].extend(out["errors"])
    queue.put(json.dumps(merged))


# --- the feeder (the matching run) -------------------------------------------


def feeder_loop(tag, clusters, args, deadline, stats) -> None:
    from django.db import connection

    from mdm.selectors.decisions import not_a_match_pairs

    rng = random.Random(args.seed)
    try:
        while time.time() < deadline:
            apart = not_a_match_pairs()
            for c, prefix in enumerate(clusters):
                try:
                    feed_cluster(tag, c, members_of(prefix), args, apart, rng, stats)
                except Exception as exc:  # noqa: BLE001 - counted, keep feeding
                    stats[f"feeder:{classify(exc)}"] += 1
            time.sleep(0.2)
    finally:
        connection.close()


def feed_cluster(tag, c, members, args, apart, rng, stats) -> None:
    from mdm.models import ReviewTask, SourceRecord
    from mdm.services.review_queue import review_task_open

    open_pairs = set(
        ReviewTask.objects.filter(
            status=ReviewTask.Status.OPEN, left_id__in=members
        ).values_list("left_id", "right_id")
    )
    if len(open_pairs) >= args.open_tasks:
        return
    golden = {sid: gpk for sid, (gpk, _, _) in goldens_of(members).items()}
    candidates = [
        (a, b)
        for a, b in combinations(sorted(members), 2)
        if golden[a] != golden[b] and (a, b) not in open_pairs and (a, b) not in apart
    ]
    rng.shuffle(candidates)
    wanted = args.open_tasks - len(open_pairs)
    if len(candidates) < wanted and len(members) < args.max_records:
        record = add_record(tag, c, len(members), rng)
        stats["feeder:records_added"] += 1
        for other in rng.sample(members, min(3, len(members))):
            review_task_open(
                a=record, b=SourceRecord.objects.get(pk=other), score=0.8, evidence=[]
            )
            stats["feeder:tasks_opened"] += 1
        return
    records = SourceRecord.objects.in_bulk({x for pair in candidates for x in pair})
    for a, b in candidates[:wanted]:
        review_task_open(a=records[a], b=records[b], score=0.8, evidence=[])
        stats["feeder:tasks_opened"] += 1


# --- verification --------------------------------------------------------------


def verify(won: list[dict], tag: str, steward_ids: list[int]) -> dict:
    """Every successful action is in the database; nothing else was written."""
    from django.db.models import Count

    from mdm.models import (
        CrossReference,
        GoldenRecord,
        OutboxEvent,
        ReviewTask,
        SourceRecord,
        StewardDecision,
    )

    problems: list[str] = []
    history = GoldenRecord.history.model
    record_ids = members_of(f"C8-{tag}-")
    rows = {
        (h.golden_id, h.version): h
        for h in history.objects.filter(history_user_id__in=steward_ids).only(
            "golden_id",
            "version",
            "history_user_id",
            "history_change_reason",
            "legal_name",
        )
    }
    by_kind = Counter(w["kind"] for w in won)
    claimed = Counter()
    for w in won:
        if w["kind"] in ("merge", "pin"):
            row = rows.get((w["golden"], w["version"]))
            claimed[(w["golden"], w["version"])] += 1
            if row is None or row.history_user_id != w["steward"]:
                problems.append(f"{w}: no history row by this steward at this version")
            elif w["kind"] == "merge" and f"review task {w['task']}," not in (
                row.history_change_reason or ""
            ):
                problems.append(f"{w}: history row names another decision")
            elif w["kind"] == "pin" and row.legal_name != w["value"]:
                problems.append(f"{w}: history row holds {row.legal_name!r}")
    problems += [
        f"{key} claimed by {n} successes" for key, n in claimed.items() if n > 1
    ]

    tasks = {
        t.pk: t.status
        for t in ReviewTask.objects.filter(
            pk__in=[w["task"] for w in won if "task" in w]
        )
    }
    decisions = StewardDecision.objects.filter(decided_by_id__in=steward_ids)
    merges = Counter()
    for reason in decisions.filter(kind=StewardDecision.Kind.MERGE).values_list(
        "reason", flat=True
    ):
        merges[reason.split("review task ")[1].split(",")[0]] += 1
    splits = Counter(
        decisions.filter(kind=StewardDecision.Kind.SPLIT).values_list(
            "details__unmerge_of", flat=True
        )
    )
    events = set(
        OutboxEvent.objects.filter(topic=OutboxEvent.Topic.MERGED).values_list(
            "golden_id", "version"
        )
    )
    decision_ids = set(decisions.values_list("pk", flat=True))
    for w in won:
        if w["kind"] == "merge":
            if tasks.get(w["task"]) != ReviewTask.Status.MERGED:
                problems.append(f"{w}: task is {tasks.get(w['task'])}")
            if merges[str(w["task"])] != 1:
                problems.append(f"{w}: {merges[str(w['task'])]} merge decisions")
            if (w["golden"], w["version"]) not in events:
                problems.append(f"{w}: no golden.merged outbox event")
        elif w["kind"] == "obsolete":
            if tasks.get(w["task"]) != ReviewTask.Status.OBSOLETE:
                problems.append(f"{w}: task is {tasks.get(w['task'])}")
        elif w["kind"] == "not_a_match":
            if w["decision"] not in decision_ids:
                problems.append(f"{w}: decision missing")
            if tasks.get(w["task"]) != ReviewTask.Status.NOT_A_MATCH:
                problems.append(f"{w}: task is {tasks.get(w['task'])}")
        elif w["kind"] == "unmerge":
            if w["decision"] not in decision_ids or splits[w["merge"]] != 1:
                problems.append(f"{w}: {splits[w['merge']]} splits undo this merge")
    written = {
        "merge": decisions.filter(kind=StewardDecision.Kind.MERGE).count(),
        "not_a_match": decisions.filter(kind=StewardDecision.Kind.NOT_A_MATCH).count(),
        "unmerge": decisions.filter(kind=StewardDecision.Kind.SPLIT).count(),
        "pin": history.objects.filter(
            history_user_id__in=steward_ids,
            history_change_reason__endswith=" set legal_name",
        ).count(),
    }
    for kind in KINDS:
        if written[kind] != by_kind[kind]:
            problems.append(
                f"{kind}: {by_kind[kind]} successes, {written[kind]} written"
            )
    decided_twice = (
        ReviewTask.history.model.objects.filter(
            history_user_id__in=steward_ids,
            status__in=[ReviewTask.Status.MERGED, ReviewTask.Status.NOT_A_MATCH],
        )
        .values("id")
        .annotate(n=Count("history_id"))
        .filter(n__gt=1)
        .count()
    )
    if decided_twice:
        problems.append(f"{decided_twice} tasks decided more than once")

    # Every golden record this run created (merges and unmerges create none).
    goldens = GoldenRecord.objects.filter(
        golden_id__in=history.objects.filter(
            history_type="+", history_change_reason__contains=f"C8-{tag}-"
        ).values("golden_id")
    )
    versions = defaultdict(list)
    for golden_id, version in history.objects.filter(
        golden_id__in=goldens.values("golden_id")
    ).values_list("golden_id", "version"):
        versions[golden_id].append(version)
    current = dict(goldens.values_list("golden_id", "version"))
    gaps = [
        golden_id
        for golden_id, version in current.items()
        if sorted(versions[golden_id]) != list(range(1, version + 1))
    ]
    problems += [f"{g}: history versions {sorted(versions[g])}" for g in gaps[:20]]

    xrefs = list(
        CrossReference.objects.filter(source_record_id__in=record_ids).values_list(
            "source_record_id", "golden__status"
        )
    )
    holders = Counter(sid for sid, _ in xrefs)
    if SourceRecord.objects.filter(pk__in=record_ids).count() != len(record_ids):
        problems.append("a source record is missing")
    if set(holders) != set(record_ids) or max(holders.values()) != 1:
        problems.append("a source record is not in exactly one golden record")
    inactive = sum(1 for _, status in xrefs if status != GoldenRecord.Status.ACTIVE)
    if inactive:
        problems.append(f"{inactive} source records point at a retired golden record")
    return {
        "ok": not problems,
        "problems": problems[:50],
        "successes": dict(by_kind),
        "written": written,
        "golden_records_checked": len(current),
        "golden_records_with_gaps": len(gaps),
        "history_rows_checked": sum(len(v) for v in versions.values()),
        "source_records_checked": len(record_ids),
    }


# --- main ----------------------------------------------------------------------


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    values = sorted(values)

    def pct(q: float) -> float:
        return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)

    return {
        "n": len(values),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(values[-1] * 1000, 1),
    }


def pg_deadlock_count() -> int:
    """Deadlocks PostgreSQL detected in this database so far (its statistics
    are sent with a delay of up to a second: the run sleeps first)."""
    from django.db import connection

    time.sleep(1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        )
        return cursor.fetchone()[0]


def activity_sampler(deadline: float, samples: Counter, every: float = 0.25) -> None:
    """Where the stewards' connections are, sampled from pg_stat_activity:
    waiting for a lock, running a statement in the server, holding a
    transaction open while the client thinks (Python, the GIL, a CPU queue)
    or idle between transactions (page reads are transactions too)."""
    from django.db import connection

    try:
        while time.time() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT state, wait_event_type, count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                    " GROUP BY 1, 2"
                )
                for state, wait, n in cursor.fetchall():
                    if state == "active":
                        key = "lock wait" if wait == "Lock" else "in a statement"
                    elif state == "idle in transaction":
                        key = "in a transaction, client side"
                    else:
                        key = "between transactions"
                    samples[key] += n
            samples["_samples"] += 1
            time.sleep(every)
    finally:
        connection.close()


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        kind, _, share = part.partition("=")
        if kind not in KINDS:
            raise argparse.ArgumentTypeError(f"unknown action {kind!r}")
        mix[kind] = float(share)
    return mix


def machine() -> dict:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
        ),
        "load_average_at_end": [round(x, 1) for x in load],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True, help="PostgreSQL URL")
    ap.add_argument("--clients", type=int, default=64, help="concurrent stewards")
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--clusters", type=int, default=10, help="hot clusters")
    ap.add_argument("--records-per-cluster", type=int, default=6)
    ap.add_argument("--max-records", type=int, default=24, help="per cluster")
    ap.add_argument("--open-tasks", type=int, default=6, help="feeder keeps ≥ this")
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument(
        "--mix",
        type=parse_mix,
        default=parse_mix("merge=50,not_a_match=10,pin=25,unmerge=15"),
    )
    ap.add_argument("--think-ms", type=float, default=0, help="mean pause per action")
    ap.add_argument("--max-tries", type=int, default=10, help="per deadlock/retry")
    ap.add_argument(
        "--slots",
        type=int,
        default=0,
        help="requests each process serves at once, like that many sync "
        "gunicorn workers (0: every steward at once)",
    )
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--out")
    args = ap.parse_args()

    env = {**os.environ, "DATABASE_URL": args.database_url, "SECRET_KEY": "bench-only"}
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    django_setup(args.database_url)
    from django.db import connections

    tag = time.strftime("%m%d%H%M%S")
    steward_ids = make_stewards(tag, args.clients)
    clusters = make_clusters(tag, args.clusters, args.records_per_cluster, args.seed)
    print(
        f"setup done: {args.clients} stewards, {args.clusters} clusters",
        file=sys.stderr,
    )
    deadlocks_before = pg_deadlock_count()
    connections.close_all()

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 3
    deadline = start_at + args.seconds
    shares = [steward_ids[i :: args.processes] for i in range(args.processes)]
    procs = [
        ctx.Process(target=worker_process, args=(ids, clusters, args, start_at, queue))
        for ids in shares
        if ids
    ]
    for proc in procs:
        proc.start()
    feeder_stats: Counter = Counter()
    # The feeder's clusters grow as it adds records; the stewards' copies
    # (forked above) read members through the feeder's additions only via
    # the tasks it opens, which is enough: a new record joins through them.
    feeder = threading.Thread(
        target=feeder_loop, args=(tag, clusters, args, deadline, feeder_stats)
    )
    activity: Counter = Counter()
    sampler = threading.Thread(target=activity_sampler, args=(deadline, activity))
    time.sleep(max(0.0, start_at - time.time()))
    feeder.start()
    sampler.start()
    results = [json.loads(queue.get()) for _ in procs]
    for proc in procs:
        proc.join()
    feeder.join()
    sampler.join()
    wall = time.time() - start_at

    counts: Counter = Counter()
    retries: Counter = Counter()
    latency: dict[str, list[float]] = defaultdict(list)
    won: list[dict] = []
    errors: list[str] = []
    for r in results:
        counts += Counter(r["counts"])
        retries += Counter(r["retries"])
        for key, values in r["latency"].items():
            latency[key].extend(values)
        won.extend(r["won"])
        errors.extend(r["errors"])
    started = time.perf_counter()
    verdict = verify(won, tag, steward_ids)
    verdict["seconds"] = round(time.perf_counter() - started, 1)
    pg_deadlocks = pg_deadlock_count() - deadlocks_before
    summary = {
        "command": " ".join(sys.argv),
        "machine": machine(),
        "clients": args.clients,
        "processes": args.processes,
        "slots_per_process": args.slots,
        "clusters": args.clusters,
        "seconds": round(wall, 1),
        "mix": args.mix,
        "attempts": {kind: len(latency.get(kind, [])) for kind in (*KINDS, "obsolete")},
        "outcomes": dict(sorted(counts.items())),
        "retried": dict(retries),
        "pg_deadlocks_during_run": pg_deadlocks,
        "unretried_errors": sum(
            n for k, n in counts.items() if k.endswith((":error", ":gave_up"))
        ),
        "error_samples": errors[:10],
        "actions_per_s": round(
            sum(len(latency.get(k, [])) for k in (*KINDS, "obsolete")) / wall, 1
        ),
        "successes_per_s": round(len(won) / wall, 1),
        "latency": {
            key: percentiles(values) for key, values in sorted(latency.items())
        },
        "feeder": dict(feeder_stats),
        # Mean number of the stewards' (and the feeder's) connections in
        # each state, over the run.
        "connections_mean": {
            key: round(n / max(1, activity["_samples"]), 1)
            for key, n in sorted(activity.items())
            if key != "_samples"
        },
        "verification": verdict,
    }
    text = json.dumps(summary, indent=1, ensure_ascii=False)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    if not verdict["ok"] or summary["unretried_errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
