"""Our engine on the synthetic Chinese B2B customers (fixtures/chinese_b2b.py).

    .venv/bin/python bench/run_ours_b2b.py --companies 20000 --seed 42 \\
        --out var/bench/ours_b2b_20k.json

Reports pairwise precision / recall / F1 at the review and auto-merge
thresholds and at the best one, cluster-level P/R/F1 of the auto-merged
clusters, the precision of the auto-merge band, how many auto-merged pairs
join two different valid USCCs (target 0), false merges per hard-negative
kind, blocking recall, wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import unicodedata
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
from run_ours_synth import cluster_metrics  # noqa: E402
from stdnum.cn import uscc as uscc_check  # noqa: E402

from fixtures.chinese_b2b import generate, write  # noqa: E402
from matching import blocking, preset  # noqa: E402
from matching.cli import load_table  # noqa: E402
from matching.pipeline import run_pipeline  # noqa: E402


def _pairs(sizes: np.ndarray) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def valid_usccs(flat: pd.DataFrame) -> np.ndarray:
    """The normalised USCC of each record when its check digit is right."""

    def clean(value: object) -> str | None:
        if not isinstance(value, str):
            return None
        # full-width digits pass the check too (str.isdigit) but must not
        # count as another USCC than the same one in ASCII
        compact = "".join(unicodedata.normalize("NFKC", value).split()).upper()
        return compact if uscc_check.is_valid(compact) else None

    return flat["uscc"].map(clean).to_numpy(dtype=object)


def uscc_conflicts(usccs: np.ndarray, clusters: np.ndarray) -> int:
    """Clusters holding two records with different valid USCCs."""
    frame = pd.DataFrame({"cluster": clusters, "uscc": usccs}).dropna()
    return int((frame.groupby("cluster")["uscc"].nunique() > 1).sum())


def hard_negative_merges(dataset, entity_of: dict, clusters: dict) -> dict:
    """Per hard-negative kind: pairs of look-alike companies merged together."""
    members: dict[str, list[str]] = {}
    for record_id, ent in entity_of.items():
        members.setdefault(ent, []).append(record_id)
    result: dict[str, dict[str, int]] = {}
    for negative in dataset.hard_negatives:
        a = {clusters[r] for r in members.get(negative.entity_a, [])}
        b = {clusters[r] for r in members.get(negative.entity_b, [])}
        stats = result.setdefault(negative.kind, {"pairs": 0, "merged": 0})
        stats["pairs"] += 1
        stats["merged"] += bool(a & b)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--companies", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    timer = PhaseTimer()
    dataset = generate(companies=args.companies, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        write(dataset, Path(tmp))
        flat_path = str(Path(tmp) / "flat.csv")
        flat = pd.read_csv(flat_path, dtype=str, keep_default_na=False)
        timer.phases.clear()
        with timer.phase("load_prep"):
            table, _ = load_table([flat_path], "company_cn")
    config = preset("company_cn")
    with timer.phase("match"):
        result = run_pipeline(table, config)
    end_to_end = round(sum(timer.phases.values()), 3)

    entity_of = {r.key: r.entity_id for r in dataset.records}
    entity = pd.factorize(pd.Series([entity_of[str(i)] for i in result.ids]))[0]
    n_true = _pairs(np.bincount(entity))
    is_match = entity[result.left] == entity[result.right]
    auto, review = result.config.auto_merge_threshold, result.config.review_threshold
    auto_band = result.scores >= auto
    ids = [str(i) for i in result.ids]
    clusters = dict(zip(ids, result.cluster_ids.tolist(), strict=True))
    flat = flat.set_index("id").loc[ids]
    report = blocking.blocking_report(
        result.table,
        blocking.CandidatePairs(((result.left, result.right),), {}, {}, {}),
        entity,
    )
    write_result(
        args.out,
        {
            "tool": "golden-record-matching",
            "input": f"chinese_b2b companies={args.companies} seed={args.seed}",
            "records": len(ids),
            "true_pairs": n_true,
            "phases_s": timer.phases,
            "end_to_end_s": end_to_end,
            "peak_rss_mib": peak_rss_mib(),
            "pairs_scored": int(result.scores.size),
            "blocking_recall": round(report.pair_completeness, 5),
            "pairwise_on_match_probability": threshold_metrics(
                result.scores, is_match, n_true, (review, auto)
            ),
            "auto_merge_band": {
                "threshold": auto,
                **prf(int((auto_band & is_match).sum()), int(auto_band.sum()), n_true),
            },
            f"clusters_at_{auto}": cluster_metrics(entity, result.cluster_ids),
            "clusters_with_two_valid_usccs": uscc_conflicts(
                valid_usccs(flat), result.cluster_ids
            ),
            "hard_negatives_merged": hard_negative_merges(dataset, entity_of, clusters),
            "review_pairs": int(result.review.size),
            "versions": package_versions(["numpy", "pandas", "rapidfuzz"]),
            "machine": machine_info(),
        },
    )


if __name__ == "__main__":
    main()
