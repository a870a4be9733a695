"""The API's rate limits themselves under load (RELIABILITY W6): do the
default 100 lookups/s and 20 searches/s per token hold when a client sends
more, across several app processes?

    .venv/bin/python bench/run_rate_limits.py --database-url $DB \\
        --redis-url redis://127.0.0.1:6379/0 --out var/bench/rate_limits.json

1. Server: gunicorn with deploy/gunicorn.conf.py, `--workers` sync workers
   (two or more: the counters must be shared), the product's settings with
   their default rates (`API_RATE_*` unset), counted in Redis with
   `--redis-url`, as deployed, else in the database cache.
2. Client: this script, in a second process: for each scope, one new token
   sends requests open-loop at `--overdrive` times its limit for
   `--seconds` (asyncio and httpx, one connection per request, so that
   gunicorn spreads them over its workers). Lookups ask for an unknown
   source key (a 404 is an allowed request: the limit counts before the
   view looks), searches for a fixed name.
3. Each answer is put in the second its `Date` header names (the windows
   of a per-second rate start on whole seconds, and the server counts a
   request a few milliseconds before it dates the answer: only a request
   in flight across a second's edge can land in the wrong one). Reported
   per scope: allowed per window (min, median, max, how many over the
   limit; the first and last, partly sent, left out), allowed over the run
   against limit x windows, the 429s and their Retry-After, any other
   status, and the latency of allowed and refused answers (from the send).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from email.utils import parsedate_to_datetime
from pathlib import Path

from gunicorn_server import GunicornServer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (scope, path, settings name of its rate)
IN_FLIGHT = 50
SCOPES = (
    ("lookup", "/api/v1/golden-records/by-source/erp/W6-BENCH-UNKNOWN", "lookup"),
    ("search", "/api/v1/golden-records/search?name=%E5%8D%8E%E7%9B%9B", "search"),
)


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")
    import django

    django.setup()


def issue_token(name: str) -> str:
    from mdm.models import ApiClient
    from mdm.services.api_tokens import api_token_issue

    client = ApiClient.objects.create(name=name, scopes=["read"])
    return api_token_issue(client=client).secret


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_RATE_")}
    return {
        **env,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "mdm.settings",
        "SECRET_KEY": "bench-only",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "REALTIME_INDEX_WARM": "false",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
    }


async def send_paced(
    base: str, path: str, token: str, *, rate: float, seconds: float
) -> list[tuple[float, int, float, str]]:
    """(the second of the server's Date header, status, latency s from the
    send, Retry-After) of each request."""
    import httpx

    answers: list[tuple[float, int, float, str]] = []
    # httpx's pool slows down with hundreds of requests waiting in it: at
    # most IN_FLIGHT at once, the others wait here (their send time is when
    # they leave, which is when the server can count them).
    gate = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as http:

        async def one() -> None:
            async with gate:
                sent = time.time()
                try:
                    response = await http.get(path, timeout=30)
                    status = response.status_code
                    retry = response.headers.get("Retry-After", "")
                    # The server's second: the throttle counted the
                    # request a few ms before the answer was dated.
                    second = parsedate_to_datetime(response.headers["Date"])
                    answered = second.timestamp()
                except httpx.HTTPError:
                    status, retry, answered = 0, "", sent
                answers.append((answered, status, time.time() - sent, retry))

        # Start on a whole second, so that the first window is whole too.
        await asyncio.sleep(1 - time.time() % 1)
        start = time.time()
        tasks = []
        i = 0
        while (due := start + i / rate) < start + seconds:
            await asyncio.sleep(max(0.0, due - time.time()))
            tasks.append(asyncio.create_task(one()))
            i += 1
        await asyncio.gather(*tasks)
    return answers


def summarise(answers: list, limit: int, seconds: float) -> dict:
    per_window: dict[int, Counter] = defaultdict(Counter)
    latency: dict[str, list[float]] = defaultdict(list)
    retry_after: list[float] = []
    for sent, status, took, retry in answers:
        outcome = "refused" if status == 429 else "allowed" if status else "failed"
        per_window[int(sent)][outcome] += 1
        latency[outcome].append(took * 1000)
        if status == 429 and retry:
            retry_after.append(float(retry))
    windows = sorted(per_window)
    allowed = [per_window[w]["allowed"] for w in windows]
    # The first and last seconds are partly sent (warm-up, the tail).
    inner = allowed[1:-1]
    statuses = Counter(status for _, status, _, _ in answers)

    def pct(values: list[float], q: float) -> float:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(q * len(values)))], 1)

    return {
        "limit_per_s": limit,
        "sent": len(answers),
        "sent_per_s": round(len(answers) / seconds, 1),
        "statuses": dict(sorted(statuses.items())),
        "allowed": sum(allowed),
        "allowed_expected": limit * len(windows),
        "allowed_ratio": round(sum(allowed) / (limit * len(windows)), 4),
        "windows": len(windows),
        "allowed_per_inner_window": {
            "min": min(inner),
            "median": statistics.median(inner),
            "max": max(inner),
            "over_limit": sum(n > limit for n in inner),
        },
        "retry_after_s": {"min": min(retry_after), "max": max(retry_after)}
        if retry_after
        else None,
        "latency_ms": {
            outcome: {"p50": pct(values, 0.5), "p99": pct(values, 0.99)}
            for outcome, values in sorted(latency.items())
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--redis-url", default="", help="count in Redis, as deployed")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--overdrive", type=float, default=1.5, help="x the limit")
    ap.add_argument("--out")
    args = ap.parse_args()

    django_setup(args.database_url)
    import logging

    from django.db import connections
    from rest_framework.settings import api_settings

    from mdm.api.throttling import parse_rate

    logging.getLogger("httpx").setLevel(logging.WARNING)
    rates = api_settings.DEFAULT_THROTTLE_RATES
    tag = time.strftime("%m%d%H%M%S")
    tokens = {scope: issue_token(f"bench-rate-{scope}-{tag}") for scope, *_ in SCOPES}
    connections.close_all()
    log = Path(tempfile.mkstemp(prefix="gr-bench-rates-", suffix=".log")[1])
    server = GunicornServer.start(
        server_env(args.database_url, args.redis_url), workers=args.workers, log=log
    )
    results = {}
    try:
        server.wait_answering("/healthz", timeout=120)
        for scope, path, rate_name in SCOPES:
            limit, duration = parse_rate(rates[rate_name])
            assert duration == 1, f"{scope}: per-second rates only ({rates[rate_name]})"
            answers = asyncio.run(
                send_paced(
                    server.url,
                    path,
                    tokens[scope],
                    rate=limit * args.overdrive,
                    seconds=args.seconds,
                )
            )
            results[scope] = summarise(answers, limit, args.seconds)
            print(scope, json.dumps(results[scope]), file=sys.stderr, flush=True)
    finally:
        server.stop()
    summary = {
        "command": " ".join(sys.argv),
        "rate_limit_store": "redis" if args.redis_url else "database cache",
        "workers": args.workers,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
        },
        "scopes": results,
    }
    text = json.dumps(summary, indent=1)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
