"""Statements and CPU of REST ingest PUTs, in one process, on a loaded DB.

    .venv/bin/python bench/profile_rest_put.py --database-url $DB --query-seed 11
    .venv/bin/python bench/profile_rest_put.py --database-url $DB --profile out.prof

The database is one `bench/run_rest_ingest.py --load-only` made (its
`--seed` and `--chunk-companies` must match the load's, so that the fresh
renderings of loaded companies are duplicates). The real-time index is built
in this process first (minutes at a million records). Then: one new-record
PUT and its unchanged re-send with every SQL statement printed (`-v`), and
`--puts` more PUTs through Django's test client timed by the process's CPU
clock (the view, the services and the test client; no HTTP server), or
profiled with cProfile (`--profile`, which slows them). Each `--query-seed`
gives other companies: a seed already sent finds its records unchanged.
The environment applies as to the app (REDIS_URL for the rate limiter,
DB_SERVER_SIDE_BINDING, ...).
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--query-seed", type=int, default=11)
    ap.add_argument("--puts", type=int, default=100)
    ap.add_argument("--seed", type=int, default=42, help="the load's --seed")
    ap.add_argument("--chunk-companies", type=int, default=20_000)
    ap.add_argument("--duplicate-share", type=float, default=0.4)
    ap.add_argument("--profile", help="write cProfile stats of the timed PUTs here")
    ap.add_argument("-v", action="store_true", help="print the SQL of the first two")
    args = ap.parse_args()
    os.environ.update(
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="mdm.settings",
        DEBUG="false",
        ALLOWED_HOSTS="*",
        API_RATE_WRITE=os.environ.get("API_RATE_WRITE", "1000000/s"),
    )
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()
    import run_rest_ingest
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from mdm.services.realtime_matching import realtime_index_warm

    queries = run_rest_ingest.build_queries(args, args.puts + 2)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {run_rest_ingest.issue_token()}")
    started = time.perf_counter()
    realtime_index_warm()
    print(f"index built in {time.perf_counter() - started:.1f} s")

    def put(query: dict):
        response = api.put(
            f"/api/v1/systems/erp/records/{query['source_id']}",
            query["payload"],
            format="json",
            secure=True,
        )
        assert response.status_code in (200, 201), response.content
        return response

    for label in ("first PUT", "unchanged re-send"):
        with CaptureQueriesContext(connection) as captured:
            response = put(queries[0])
        match = response.json().get("match") or {}
        print(f"{label}: {len(captured)} statements, {match.get('decision')}")
        if args.v:
            for statement in captured.captured_queries:
                print("   ", statement["sql"][:160])
    rest = queries[1 : 1 + args.puts]
    profiler = cProfile.Profile() if args.profile else None
    by_decision: dict[str, list[tuple[float, float]]] = defaultdict(list)
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for query in rest:
        put_cpu, put_wall = time.process_time(), time.perf_counter()
        body = put(query).json()
        decision = (body.get("match") or {}).get("decision", body["outcome"])
        by_decision[decision].append(
            (time.process_time() - put_cpu, time.perf_counter() - put_wall)
        )
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{len(rest)} PUTs: CPU {1000 * cpu / len(rest):.1f} ms, "
        f"wall {1000 * wall / len(rest):.1f} ms per PUT"
        + (" (profiled)" if profiler else "")
    )
    for decision, times in sorted(by_decision.items()):
        cpus = sorted(1000 * c for c, _ in times)
        walls = sorted(1000 * w for _, w in times)
        print(
            f"  {decision}: {len(times)} PUTs, CPU median {median(cpus):.1f} ms, "
            f"wall median {median(walls):.1f} / p95 {_p95(walls):.1f} ms"
        )


def _p95(values: list[float]) -> float:
    return values[min(len(values) - 1, math.ceil(0.95 * len(values)) - 1)]


if __name__ == "__main__":
    main()
