"""Our engine on the peer kit's synthetic people file, with the same metrics.

    .venv/bin/python bench/run_ours_synth.py --input var/bench/people_1m.parquet \\
        --out var/bench/ours_1m.json

Reports what ../shared/bench/run_splink_synth.py reports: wall time of the
end-to-end run (load, standardise, block, train, score, cluster), peak RSS,
pairs scored, blocking recall, pairwise P/R/F1 at fixed thresholds and at
the best one, and cluster-level P/R/F1 (pairs implied by the clusters vs
true pairs).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH = os.environ.get("ERBENCH_DIR", str(ROOT.parent / "shared" / "bench"))
sys.path.insert(0, BENCH)

from erbench_common import (  # noqa: E402
    PhaseTimer,
    machine_info,
    package_versions,
    peak_rss_mib,
    prf,
    threshold_metrics,
    write_result,
)

from matching import blocking, preset  # noqa: E402
from matching.cli import load_table  # noqa: E402
from matching.config import MatchConfig  # noqa: E402
from matching.pipeline import run_pipeline  # noqa: E402


def cluster_metrics(entity: np.ndarray, clusters: np.ndarray) -> dict:
    def pairs(sizes: np.ndarray) -> int:
        return int((sizes * (sizes - 1) // 2).sum())

    n_true = pairs(np.bincount(entity))
    joint = pd.factorize(clusters.astype(np.int64) * (entity.max() + 1) + entity)[0]
    tp = pairs(np.bincount(joint))
    sizes = np.bincount(clusters)
    return {
        **prf(tp, pairs(sizes), n_true),
        "clusters": int((sizes > 0).sum()),
        "largest_cluster": int(sizes.max()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", default=None)
    ap.add_argument("--config", default=None, help="MatchConfig JSON (default preset)")
    ap.add_argument("--save-config", default=None)
    args = ap.parse_args()

    import pyarrow.parquet as pq

    timer = PhaseTimer()
    with timer.phase("load_prep"):
        table, _ = load_table([args.input], "person")
    config = (
        MatchConfig.from_json(Path(args.config).read_text())
        if args.config
        else preset("person")
    )
    with timer.phase("match"):
        result = run_pipeline(table, config)
    end_to_end = round(sum(timer.phases.values()), 3)
    rss_before_eval = peak_rss_mib()

    with timer.phase("evaluate"):
        entity = pd.factorize(
            pq.read_table(args.input, columns=["entity_id"])
            .column("entity_id")
            .to_numpy()
        )[0]
        n_true = int((lambda s: (s * (s - 1) // 2).sum())(np.bincount(entity)))
        is_match = entity[result.left] == entity[result.right]
        pair_metrics = threshold_metrics(
            result.scores, is_match, n_true, (0.5, 0.9, 0.99)
        )
        clusters = cluster_metrics(entity, result.cluster_ids)
        report = blocking.blocking_report(
            result.table,
            blocking.CandidatePairs(((result.left, result.right),), {}, {}, {}),
            entity,
        )
    if args.save_config:
        Path(args.save_config).write_text(result.config.to_json())
    write_result(
        args.out,
        {
            "tool": "golden-record-matching",
            "input": os.path.basename(args.input),
            "records": len(result.ids),
            "phases_s": timer.phases,
            "end_to_end_s": end_to_end,
            "script_wall_s": timer.total(),
            "peak_rss_mib_before_eval": rss_before_eval,
            "peak_rss_mib": peak_rss_mib(),
            "pairs_scored": int(result.scores.size),
            "pairs_per_record": round(report.pairs_per_record, 3),
            "blocking_recall": round(report.pair_completeness, 5),
            "lambda": result.config.prior,
            "config_hash": result.config_hash,
            "pairwise_on_match_probability": pair_metrics,
            f"clusters_at_{result.config.auto_merge_threshold}": clusters,
            "review_pairs": int(result.review.size),
            "versions": package_versions(["numpy", "pandas", "pyarrow", "rapidfuzz"]),
            "machine": machine_info(),
        },
    )


if __name__ == "__main__":
    main()
