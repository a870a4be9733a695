"""Print the markdown tables of docs/benchmarks.md from bench result files.

.venv/bin/python bench/report.py var/bench
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _load(folder: Path, name: str) -> dict | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _clusters(result: dict) -> dict:
    return next(v for k, v in result.items() if k.startswith("clusters_at_"))


def _cluster_key(result: dict) -> str:
    return next(k for k in result if k.startswith("clusters_at_")).removeprefix(
        "clusters_at_"
    )


def people_rows(folder: Path) -> list[str]:
    rows = [
        "| set | engine | wall (s) | peak RSS (MiB) | pairs scored | blocking recall "
        "| best pairwise F1 | clusters P / R / F1 (threshold) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size in ("100k", "1m", "3m"):
        for engine in ("splink", "ours"):
            result = _load(folder, f"{engine}_{size}")
            if result is None:
                continue
            pairwise = result["pairwise_on_match_probability"]
            clusters = _clusters(result)
            recall = result.get("blocking_recall", pairwise.get("blocking_recall"))
            rows.append(
                f"| {size} | {result['tool']} | {result['end_to_end_s']:.1f} "
                f"| {result['peak_rss_mib_before_eval']:.0f} "
                f"| {pairwise['candidate_pairs']:,} | {recall:.4f} "
                f"| {pairwise['best']['f1']:.3f} "
                f"| {clusters['precision']:.3f} / {clusters['recall']:.3f} / "
                f"{clusters['f1']:.3f} ({_cluster_key(result)}) |"
            )
    return rows


def febrl_rows(folder: Path) -> list[str]:
    rows = [
        "| set | engine | model wall (s) | pairwise P | pairwise R | best F1 |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("febrl1", "febrl2", "febrl3", "febrl4"):
        for engine in ("splink", "ours"):
            result = _load(folder, f"{engine}_{name}")
            if result is None:
                continue
            best = result["pairwise_on_match_probability"]["best"]
            rows.append(
                f"| {name} | {result['tool']} | {result['model_wall_s']:.2f} "
                f"| {best['precision']:.4f} | {best['recall']:.4f} | {best['f1']:.4f} |"
            )
    return rows


def b2b_rows(folder: Path) -> list[str]:
    result = _load(folder, "ours_b2b_20k")
    if result is None:
        return []
    best = result["pairwise_on_match_probability"]["best"]
    band = result["auto_merge_band"]
    clusters = _clusters(result)
    merged = result["hard_negatives_merged"]
    return [
        "| metric | value |",
        "|---|---|",
        f"| records / true pairs | {result['records']:,} / {result['true_pairs']:,} |",
        f"| wall (s) / peak RSS (MiB) | {result['end_to_end_s']:.1f} / "
        f"{result['peak_rss_mib']:.0f} |",
        f"| pairs scored / blocking recall | {result['pairs_scored']:,} / "
        f"{result['blocking_recall']:.4f} |",
        f"| best pairwise P / R / F1 | {best['precision']:.3f} / {best['recall']:.3f}"
        f" / {best['f1']:.3f} |",
        f"| auto-merge band (p ≥ {band['threshold']}) precision / recall | "
        f"{band['precision']:.4f} / {band['recall']:.4f} |",
        f"| auto-merged clusters P / R / F1 | {clusters['precision']:.4f} / "
        f"{clusters['recall']:.4f} / {clusters['f1']:.4f} |",
        f"| clusters joining two different valid USCCs | "
        f"{result['clusters_with_two_valid_usccs']} |",
        "| hard negatives merged | "
        + ", ".join(f"{k} {v['merged']}/{v['pairs']}" for k, v in merged.items())
        + " |",
        f"| review pairs | {result['review_pairs']:,} |",
    ]


def import_rows(folder: Path) -> list[str]:
    rows = [
        "| file | rows | bare parse (s) | import (s) | rows/s | import ÷ parse "
        "| peak RSS import / parse (MiB) | re-import, unchanged (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(folder.glob("import_*.json")):
        r = json.loads(path.read_text())
        rows.append(
            f"| {r['format']} ({r['file_mib']} MiB) | {r['rows']:,} "
            f"| {r['bare_parse_s']} | {r['import_s']} | {r['rows_per_s']:,} "
            f"| {r['import_vs_parse']}× | {r['import_rss_mib']} / "
            f"{r['bare_parse_rss_mib']} | {r['reimport_unchanged_s']} |"
        )
    return rows if len(rows) > 2 else []


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "var/bench")
    for title, rows in (
        ("People (gen_people.py, seed 42)", people_rows(folder)),
        ("FEBRL", febrl_rows(folder)),
        (
            "Chinese B2B (fixtures/chinese_b2b.py, 20,000 companies, seed 42)",
            b2b_rows(folder),
        ),
        ("Bulk import (bench/run_import.py, matching excluded)", import_rows(folder)),
    ):
        if rows:
            print(f"### {title}\n")
            print("\n".join(rows))
            print()


if __name__ == "__main__":
    main()
