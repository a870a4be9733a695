"""Our engine on the synthetic Chinese B2B customers (fixtures/chinese_b2b.py).

    .venv/bin/python bench/run_ours_b2b.py --companies 20000 --seed 42 \\
        --out var/bench/ours_b2b_20k.json

Reports pairwise precision / recall / F1 at the review and auto-merge
thresholds and at the best one, cluster-level P/R/F1 of the auto-merged
clusters, the precision of the auto-merge band, how many auto-merged pairs
join two different valid USCCs (target 0), false merges per hard-negative
kind, blocking recall, wall time and peak RSS.

`--legacy-marks RATE` adds, to each field of each legacy-sheet record with
that probability, what hand-kept sheets and their exports carry (the truth
and the generator's own noise unchanged; a random stream of its own):
quotation marks around a company name, its brand, a contact or an address,
a stray mark at either end of a name, Excel's text prefix ' before a tax ID,
a note in brackets after a contact or a tax ID, and a municipality repeated
or padded with 市辖区 as cascaded pickers fill in an address.
"""

from __future__ import annotations

import argparse
import os
import random
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


_MUNICIPALITIES = ("北京市", "上海市", "天津市", "重庆市")
_QUOTES = ("“”", '""', "《》", "「」")


def _quoted(rng: random.Random, text: str) -> str:
    opening, closing = rng.choice(_QUOTES)
    return f"{opening}{text}{closing}"


def _marked_name(rng: random.Random, name: str) -> str:
    draw = rng.random()
    if draw < 0.4:
        return _quoted(rng, name)
    if draw < 0.6:  # the brand quoted: 北京“华盛”科技有限公司
        start = rng.randrange(len(name))
        end = min(len(name), start + rng.choice((2, 3)))
        return name[:start] + _quoted(rng, name[start:end]) + name[end:]
    return rng.choice(("*", "、", "'")) + name if draw < 0.8 else name + "。"


def _marked_address(rng: random.Random, address: str) -> str:
    city = next((m for m in _MUNICIPALITIES if address.startswith(m)), None)
    if city and rng.random() < 0.7:
        rest = address[len(city) :]
        return city + rng.choice((city, "市辖区")) + rest
    return _quoted(rng, address)


def legacy_marks(flat: pd.DataFrame, rate: float, seed: int) -> pd.DataFrame:
    """`flat` with the marks of hand-kept sheets on the legacy records (see
    the module docstring)."""
    rng = random.Random(f"legacy-marks-{seed}")
    marked = flat.copy()
    marks = {
        "name": _marked_name,
        "uscc": lambda rng, v: rng.choice(("'" + v, v + "（已核）", _quoted(rng, v))),
        "address": _marked_address,
        "contact": lambda rng, v: rng.choice((_quoted(rng, v), v + "（财务）")),
    }
    legacy = marked["id"].str.startswith("legacy:")
    for column, mark in marks.items():
        for i in marked.index[legacy & (marked[column] != "")]:
            if rng.random() < rate:
                marked.at[i, column] = mark(rng, marked.at[i, column])
    return marked


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--companies", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=None)
    ap.add_argument(
        "--legacy-marks",
        type=float,
        default=0.0,
        help="per-field rate of hand-kept-sheet marks on legacy records",
    )
    args = ap.parse_args()

    timer = PhaseTimer()
    dataset = generate(companies=args.companies, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        write(dataset, Path(tmp))
        flat_path = str(Path(tmp) / "flat.csv")
        flat = pd.read_csv(flat_path, dtype=str, keep_default_na=False)
        if args.legacy_marks:
            legacy_marks(flat, args.legacy_marks, args.seed).to_csv(
                flat_path, index=False
            )
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
            "input": f"chinese_b2b companies={args.companies} seed={args.seed}"
            + (f" legacy_marks={args.legacy_marks}" if args.legacy_marks else ""),
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
