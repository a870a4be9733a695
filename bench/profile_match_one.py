"""`match_one` alone on the real-time index of a loaded database.

    .venv/bin/python bench/profile_match_one.py --database-url $DB --queries 400
    .venv/bin/python bench/profile_match_one.py --database-url $DB --dump out.json
    .venv/bin/python bench/profile_match_one.py --database-url $DB --profile out.prof

The database is one `bench/run_rest_ingest.py --load-only` made. The index is
built as the app builds it (`realtime_matching._build`: minutes at a million
records) and kept in `--cache` (a pickle, ~600 MB at a million records), so
that later runs, of this code or another, start in seconds. Queries are the
REST benchmark's ERP payloads (`--query-seed`), mapped by the Kingdee preset
as the ingest maps them. Prints the CPU per query and wall percentiles;
`--dump` writes every candidate's id, score, weight and evidence, to check
that a change leaves the answers as they were (`cmp` two dumps).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pickle
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--cache", default="var/bench/realtime_index.pickle")
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--query-seed", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42, help="the load's --seed")
    ap.add_argument("--chunk-companies", type=int, default=20_000)
    ap.add_argument("--duplicate-share", type=float, default=0.4)
    ap.add_argument("--dump", help="write every answer here (JSON)")
    ap.add_argument("--profile", help="write cProfile stats of the queries here")
    args = ap.parse_args()
    os.environ.update(
        DATABASE_URL=args.database_url, DJANGO_SETTINGS_MODULE="mdm.settings"
    )
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()
    import numpy as np
    import run_rest_ingest

    import matching
    from mdm.mapping_presets import payload_map
    from mdm.matching_adapter import matching_fields
    from mdm.services import realtime_matching

    config = realtime_matching._config_current()
    index = _index(Path(args.cache), config, realtime_matching)
    records = [
        matching.Record(
            id=f"q{n}",
            source="erp",
            fields=matching_fields(
                payload_map(q["payload"], "kingdee_k3cloud").attributes
            ),
        )
        for n, q in enumerate(run_rest_ingest.build_queries(args, args.queries))
    ]
    for record in records[:20]:  # warm the standardisers' caches
        matching.match_one(record, index, config, top=15)
    profiler = cProfile.Profile() if args.profile else None
    answers, latencies = [], []
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    for record in records:
        started = time.perf_counter()
        found = matching.match_one(record, index, config, top=15)
        [c.evidence for c in found[:5]]  # what the ingest explains
        latencies.append(1000 * (time.perf_counter() - started))
        answers.append(found)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    cpu = 1000 * (time.process_time() - cpu) / len(records)
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    print(
        f"{len(records)} queries against {len(index):,} records: CPU {cpu:.2f} ms "
        f"a query, wall p50 / p95 / p99 {p50:.2f} / {p95:.2f} / {p99:.2f} ms"
        + (" (profiled)" if profiler else "")
    )
    if args.dump:
        Path(args.dump).write_text(
            json.dumps(
                [[_answer(c) for c in found] for found in answers], ensure_ascii=False
            )
        )


def _index(cache: Path, config, realtime_matching):
    if cache.exists():
        started = time.perf_counter()
        with cache.open("rb") as f:
            index = pickle.load(f)
        index._recent_lock = threading.Lock()
        index.config = config
        print(f"index read from {cache} in {time.perf_counter() - started:.1f} s")
        return index
    index, _ = realtime_matching._build(config)
    index._recent_lock = None  # a lock does not pickle
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("wb") as f:
        pickle.dump(index, f, protocol=5)
    index._recent_lock = threading.Lock()
    print(f"index built ({realtime_matching._holder.last_build}), kept in {cache}")
    return index


def _answer(candidate) -> list:
    return [
        candidate.id,
        round(candidate.score, 9),
        round(candidate.match_weight, 6),
        [
            [e.comparison, e.level, round(e.weight, 6), e.text]
            for e in candidate.evidence
        ],
    ]


if __name__ == "__main__":
    main()
