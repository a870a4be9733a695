"""The single-record path at scale: build a RecordIndex, then time match_one.

    .venv/bin/python bench/run_single_record.py \\
        --input var/bench/people_1m.parquet --config var/bench/trained_1m.json \\
        --out var/bench/single_1m.json

Reads and standardises the file once (`load_prep`, the batch loader), builds
the index from that prepared table (`build`), and then matches `--queries`
records drawn from the file with a fixed seed, one at a time, as the ingest
API does: each query is a raw `Record` that `match_one` standardises itself.
Reports the build time, the resident memory before and after the build
(the index's own share is the difference) and the peak, and the p50 / p95 /
p99 / max latency of `match_one`.  Without `--config` the preset is trained
on the file first (a batch run), which takes a while at a million records.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH = os.environ.get("ERBENCH_DIR", str(ROOT.parent / "shared" / "bench"))
sys.path.insert(0, BENCH)

from erbench_common import (  # noqa: E402
    PhaseTimer,
    machine_info,
    package_versions,
    peak_rss_mib,
    write_result,
)

from matching import MatchConfig, Record, RecordIndex, match_one, preset  # noqa: E402
from matching.cli import input_columns, load_table, read_input  # noqa: E402
from matching.pipeline import run_pipeline  # noqa: E402
from matching.prepare import COMPANY_FIELDS, PERSON_FIELDS  # noqa: E402


def rss_mib() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    return float("nan")


def query_records(path: str, schema: str, count: int, seed: int) -> list[Record]:
    """`count` raw records of the file, drawn with a fixed seed."""
    fields = PERSON_FIELDS if schema == "person" else COMPANY_FIELDS
    present = set(input_columns(path))
    table = read_input(path, ["record_id", *(f for f in fields if f in present)])
    rows = np.random.default_rng(seed).choice(table.num_rows, count, replace=False)
    picked = table.take(rows).to_pylist()
    return [
        Record(str(r.pop("record_id")), "bench", {k: v for k, v in r.items() if v})
        for r in picked
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--config", default=None, help="trained MatchConfig JSON")
    ap.add_argument("--schema", default="person", choices=("person", "company_cn"))
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    timer = PhaseTimer()
    with timer.phase("load_prep"):
        table, schema = load_table([args.input], args.schema)
    if args.config:
        config = MatchConfig.from_json(Path(args.config).read_text())
    else:
        with timer.phase("train"):
            config = run_pipeline(table, preset(schema)).config
    queries = query_records(args.input, schema, args.queries, args.seed)
    rss_before = rss_mib()
    with timer.phase("build"):
        index = RecordIndex(config)
        index.add_table(table)
    rss_after = rss_mib()
    del table

    latencies = []
    found = 0
    for record in queries:
        start = time.perf_counter()
        candidates = match_one(record, index)
        latencies.append((time.perf_counter() - start) * 1000.0)
        found += bool(candidates) and candidates[0].score >= config.review_threshold
    ms = np.asarray(latencies)
    write_result(
        args.out,
        {
            "tool": "golden-record-matching single-record path",
            "input": os.path.basename(args.input),
            "records": len(index),
            "phases_s": timer.phases,
            "build_s": timer.phases["build"],
            "rss_mib_before_build": rss_before,
            "rss_mib_after_build": rss_after,
            "index_rss_mib": round(rss_after - rss_before, 1),
            "peak_rss_mib": peak_rss_mib(),
            "queries": len(queries),
            "queries_with_a_match": int(found),
            "match_one_ms": {
                "p50": round(float(np.percentile(ms, 50)), 2),
                "p95": round(float(np.percentile(ms, 95)), 2),
                "p99": round(float(np.percentile(ms, 99)), 2),
                "max": round(float(ms.max()), 2),
                "first": round(float(ms[0]), 2),
            },
            "versions": package_versions(["numpy", "pandas", "rapidfuzz"]),
            "machine": machine_info(),
        },
    )


if __name__ == "__main__":
    main()
