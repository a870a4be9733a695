"""Lookup and search API under load: 50 concurrent clients against gunicorn.

    # load 1,000,000+ golden records once (helper loader of run_rest_ingest.py):
    .venv/bin/python bench/run_rest_ingest.py --database-url $DB \\
        --records 1300000 --load-only
    .venv/bin/python bench/run_api_lookup.py --database-url $DB \\
        --out var/bench/api_lookup_1m.json

1. Server: gunicorn with deploy/gunicorn.conf.py (`--workers` sync workers,
   the real-time index not warmed: lookups do not match), settings
   `bench/api_bench_settings.py` = the product's settings plus one bare
   Django JSON view (`/bench/bare`, no database, no DRF) as the baseline,
   behind the same middleware. Rate limits stay on (counted in Redis with
   `--redis-url`, as deployed, else in the database cache, the embedded
   fallback) but are raised so they never refuse.
2. Client: this script, in a second process: an asyncio loop with httpx and
   `--concurrency` tasks, each sending its next request as soon as the last
   answered (closed loop). Why not locust: one small file with exact
   per-request latencies and no gevent/Flask stack; its own CPU cost is the
   same for every phase, so the ratio to the bare view is fair.
3. Phases, `--seconds` each after a warm-up: bare, then `--rounds` times
   golden-ID lookup, source-ID lookup, bare again; then fuzzy name search.
   Each round's ratio is its lookup's throughput over the mean of the bare
   phases either side, and the ratio reported is the median of the rounds
   (one run drifts: two bare phases of one run have differed by 12-28 %).
   Last, batch lookup: `POST /api/v1/golden-records/lookup` with
   `--batch-keys` keys each (half golden IDs, half source keys).
   Keys are drawn with a fixed seed from the loaded records.

With a closed loop, latency = concurrency / throughput (Little's law): on a
saturated 2-core machine a p99 target is a throughput target in disguise.
So each lookup phase is also run open-loop at `--paced-rate` requests/s,
the name search at `--paced-search-rate` and the batch lookup at
`--paced-batch-rate` (batches/s), which is what a latency target usually
means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from gunicorn_server import GunicornServer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")
    import django

    django.setup()


def sample_keys(seed: int, count: int) -> dict:
    """Golden IDs, source keys and names drawn from the loaded data."""
    from django.db import connection

    from mdm.models import GoldenRecord

    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM mdm_crossreference")
        top = cursor.fetchone()[0]
        rng = random.Random(seed)
        ids = sorted({rng.randint(1, top) for _ in range(count)})
        cursor.execute(
            "SELECT g.golden_id, s.code, r.source_id, r.name "
            "FROM mdm_crossreference x "
            "JOIN mdm_goldenrecord g ON g.id = x.golden_id "
            "JOIN mdm_sourcerecord r ON r.id = x.source_record_id "
            "JOIN mdm_sourcesystem s ON s.id = r.source_system_id "
            "WHERE x.id = ANY(%s)",
            [ids],
        )
        rows = cursor.fetchall()
    rng.shuffle(rows)
    return {
        "goldens": GoldenRecord.objects.count(),
        "golden_ids": [r[0] for r in rows],
        "source_keys": [(r[1], r[2]) for r in rows],
        "names": [r[3] for r in rows if r[3]],
    }


def issue_token() -> str:
    from mdm.models import ApiClient
    from mdm.services.api_tokens import api_token_issue

    client, _ = ApiClient.objects.get_or_create(
        name="bench-api-lookup", defaults={"scopes": ["read"]}
    )
    return api_token_issue(client=client).secret


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "api_bench_settings",
        "PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}",
        "SECRET_KEY": "bench-only",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "REALTIME_INDEX_WARM": "false",
        "LOG_LEVEL": "WARNING",
        "API_RATE_LOOKUP": "1000000/s",
        "API_RATE_SEARCH": "1000000/s",
        "REDIS_URL": redis_url,
    }


async def run_phase(
    base: str,
    paths: list[str | tuple[str, dict]],
    headers: dict,
    *,
    seconds: float,
    concurrency: int,
    rate: float | None = None,
) -> dict:
    """Closed loop (`rate` None) or open loop at `rate` requests/s; a path
    is a GET, a (path, body) pair a POST of that JSON body."""
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as http:

        async def one(path: str | tuple[str, dict]) -> None:
            started = time.perf_counter()
            try:
                if isinstance(path, str):
                    response = await http.get(path, timeout=30)
                else:
                    response = await http.post(path[0], json=path[1], timeout=30)
                code = response.status_code
            except httpx.HTTPError:
                code = 0
            latencies.append(time.perf_counter() - started)
            statuses[code] = statuses.get(code, 0) + 1

        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        if rate is None:

            async def loop(offset: int) -> None:
                i = offset
                while time.perf_counter() < deadline:
                    await one(paths[i % len(paths)])
                    i += concurrency

            await asyncio.gather(*(loop(n) for n in range(concurrency)))
        else:
            gate = asyncio.Semaphore(concurrency)
            tasks = []

            async def paced(path: str) -> None:
                async with gate:
                    await one(path)

            i = 0
            while time.perf_counter() < deadline:
                tasks.append(asyncio.create_task(paced(paths[i % len(paths)])))
                i += 1
                await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            await asyncio.gather(*tasks)
        wall = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        return round(
            latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1
        )

    return {
        "requests": len(latencies),
        "throughput": round(len(latencies) / wall, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "statuses": statuses,
    }


async def run_all(args, base: str, token: str, keys: dict) -> dict:
    from urllib.parse import quote

    auth = {"Authorization": f"Bearer {token}"}
    bare = ["/bench/bare"]
    golden = [f"/api/v1/golden-records/{g}" for g in keys["golden_ids"]]
    source = [
        f"/api/v1/golden-records/by-source/{s}/{quote(i, safe='')}"
        for s, i in keys["source_keys"]
    ]
    names = [f"/api/v1/golden-records/search?name={quote(n)}" for n in keys["names"]]
    batches = batch_lookups(keys, args.batch_keys)
    common = {"seconds": args.seconds, "concurrency": args.concurrency}
    await run_phase(base, golden[:500], auth, seconds=3, concurrency=args.concurrency)
    results = {}
    closed = [("bare_1", bare)]
    for r in range(1, args.rounds + 1):
        closed += [
            (f"golden_id_{r}", golden),
            (f"source_id_{r}", source),
            (f"bare_{r + 1}", bare),
        ]
    for name, paths in [*closed, ("name_search", names), ("batch_lookup", batches)]:
        results[name] = await run_phase(base, paths, auth, **common)
        print(name, results[name], file=sys.stderr, flush=True)
    for name, paths, rate in [
        ("bare", bare, args.paced_rate),
        ("golden_id", golden, args.paced_rate),
        ("source_id", source, args.paced_rate),
        ("name_search", names, args.paced_search_rate),
        ("batch_lookup", batches, args.paced_batch_rate),
    ]:
        key = f"{name}_paced_{int(rate)}"
        results[key] = await run_phase(base, paths, auth, rate=rate, **common)
        print(key, results[key], file=sys.stderr, flush=True)
    return results


def batch_lookups(keys: dict, size: int) -> list[tuple[str, dict]]:
    """POST bodies of `size` keys each, half golden IDs, half source keys,
    as a client resolving a page of its own records would send."""
    mixed = [
        key
        for golden_id, (system, source_id) in zip(
            keys["golden_ids"], keys["source_keys"], strict=True
        )
        for key in (
            {"golden_id": golden_id},
            {"source_system": system, "source_id": source_id},
        )
    ]
    return [
        ("/api/v1/golden-records/lookup", {"keys": mixed[start : start + size]})
        for start in range(0, len(mixed) - size + 1, size)
    ]


def lookup_ratios(results: dict, rounds: int) -> dict:
    """Each round's lookup throughput over the mean of the bare phases
    either side of it, and the median over the rounds: the machine's drift
    during the run (other jobs, caches) weighs on both sides of a ratio."""
    out = {}
    for kind in ("golden_id", "source_id"):
        ratios = []
        for r in range(1, rounds + 1):
            bare = (
                results[f"bare_{r}"]["throughput"]
                + results[f"bare_{r + 1}"]["throughput"]
            ) / 2
            ratios.append(round(results[f"{kind}_{r}"]["throughput"] / bare, 3))
        out[f"{kind}_ratios"] = ratios
        out[f"{kind}_ratio"] = statistics.median(ratios)
    return out


def main() -> None:
    import logging

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", required=True, help="a loaded PostgreSQL DB")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="closed-loop rounds of golden-ID, source-ID and bare phases",
    )
    ap.add_argument("--paced-rate", type=float, default=200, help="open-loop req/s")
    ap.add_argument(
        "--paced-search-rate", type=float, default=20, help="open-loop searches/s"
    )
    ap.add_argument(
        "--paced-batch-rate", type=float, default=10, help="open-loop batches/s"
    )
    ap.add_argument("--batch-keys", type=int, default=100, help="keys per batch")
    ap.add_argument("--keys", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--redis-url",
        default="",
        help="count rate limits in this Redis, as deployed (default: the "
        "database cache, the embedded fallback)",
    )
    ap.add_argument("--out")
    args = ap.parse_args()

    django_setup(args.database_url)
    # Django's logging config would log every client request at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    keys = sample_keys(args.seed, args.keys)
    token = issue_token()
    from django.db import connections

    connections.close_all()
    log = Path(tempfile.mkstemp(prefix="gr-bench-gunicorn-", suffix=".log")[1])
    print(f"gunicorn log: {log}", file=sys.stderr, flush=True)
    server = GunicornServer.start(
        server_env(args.database_url, args.redis_url), workers=args.workers, log=log
    )
    try:
        server.wait_answering("/bench/bare", timeout=120)
        results = asyncio.run(run_all(args, server.url, token, keys))
    finally:
        server.stop()
    ratios = lookup_ratios(results, args.rounds)
    summary = {
        "golden_records": keys["goldens"],
        "workers": args.workers,
        "rate_limit_store": "redis" if args.redis_url else "database cache",
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "rounds": args.rounds,
        **ratios,
        "phases": results,
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
