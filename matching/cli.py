"""Command line: `python -m matching dedupe|link ...` (the only module doing I/O).

    python -m matching dedupe people.parquet --out clusters.csv
    python -m matching link erp.csv crm.csv --out links.csv --schema company_cn

Input files are CSV or Parquet with an `id` (or `record_id`) column plus any
of the schema's fields; other columns are ignored.  Columns are read one at
a time and dictionary-encoded, so a million rows stay small in memory.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from matching.config import MatchConfig
from matching.pipeline import run_pipeline
from matching.prepare import COMPANY_FIELDS, PERSON_FIELDS, infer_schema, prepare_table
from matching.presets import preset
from matching.types import Table

ID_COLUMNS = ("id", "record_id")


def input_columns(path: str | Path) -> list[str]:
    """Column names of a CSV or Parquet file, without reading its rows.

    Args:
        path: the file.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return list(pq.read_schema(path).names)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def read_input(path: str | Path, columns: list[str]):
    """Read the given columns of a CSV or Parquet file as strings (pyarrow).

    Args:
        path: the file.
        columns: the columns to read.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        table = pq.read_table(path, columns=columns)
    else:
        opts = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in columns},
            include_columns=columns,
            strings_can_be_null=True,
        )
        table = pacsv.read_csv(path, convert_options=opts)
    return table.cast(pa.schema([(c, pa.string()) for c in columns]))


def encode_column(column) -> tuple[np.ndarray, np.ndarray]:
    """Dictionary-encode a pyarrow column: (int32 codes, -1 = null; uniques).

    Args:
        column: a pyarrow (chunked) array.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.cast(column, pa.string()).combine_chunks()
    arr = pc.if_else(pc.equal(pc.utf8_trim_whitespace(arr), ""), None, arr)
    enc = arr.dictionary_encode()
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    uniques = enc.dictionary.to_numpy(zero_copy_only=False)
    return codes.astype(np.int32), uniques.astype(object)


def load_table(paths: list[str], schema: str | None = None) -> tuple[Table, str]:
    """Read and standardise one or more input files into one table.

    Args:
        paths: input files; with several, `Table.sources` is the file index.
        schema: "person" or "company_cn"; inferred from the columns if None.
    """
    import pyarrow as pa

    names = input_columns(paths[0])
    schema = schema or infer_schema(names)
    fields = PERSON_FIELDS if schema == "person" else COMPANY_FIELDS
    id_col = next((c for c in ID_COLUMNS if c in names), None)
    if id_col is None:
        raise SystemExit(f"{paths[0]}: needs an 'id' or 'record_id' column")
    wanted = [id_col, *(f for f in fields if f in names)]
    tables = [read_input(p, wanted) for p in paths]
    sources = np.repeat(np.arange(len(tables)), [t.num_rows for t in tables])
    merged = pa.concat_tables(tables)
    del tables
    ids = merged.column(id_col).to_numpy(zero_copy_only=False).astype(object)
    encoded = {f: encode_column(merged.column(f)) for f in wanted[1:]}
    del merged
    pa.default_memory_pool().release_unused()
    table = prepare_table(ids, encoded, schema, sources if len(paths) > 1 else None)
    return table, schema


def _config(args: argparse.Namespace, schema: str) -> MatchConfig:
    if args.config:
        return MatchConfig.from_json(Path(args.config).read_text(encoding="utf-8"))
    return preset(schema)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m matching`.

    Args:
        argv: command-line arguments (default: sys.argv[1:]).
    """
    from tqdm import tqdm

    ap = argparse.ArgumentParser(prog="python -m matching")
    sub = ap.add_subparsers(dest="command", required=True)
    for name, inputs in (("dedupe", 1), ("link", 2)):
        p = sub.add_parser(name)
        p.add_argument("inputs", nargs=inputs)
        p.add_argument("--out", required=True)
        p.add_argument("--schema", choices=("company_cn", "person"))
        p.add_argument("--config", help="MatchConfig JSON (default: the preset)")
        p.add_argument("--save-config", help="write the trained config here")
        p.add_argument("--review-out", help="write review pairs here (dedupe)")
    args = ap.parse_args(argv)

    start = time.perf_counter()
    table, schema = load_table(list(args.inputs), args.schema)
    config = _config(args, schema)
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            bars[stage] = tqdm(
                total=total, desc=stage, unit="partition", file=sys.stderr
            )
        bars[stage].update(done - bars[stage].n)
        if done == total:
            bars[stage].close()

    result = run_pipeline(table, config, link=args.command == "link", progress=progress)
    if args.save_config:
        Path(args.save_config).write_text(result.config.to_json(), encoding="utf-8")
    if args.command == "dedupe":
        _write_clusters(args.out, result.ids, result.cluster_ids)
        if args.review_out:
            _write_review(args.review_out, result)
    else:
        _write_links(args.out, result)
    print(
        f"{len(table)} records, {result.scores.size} pairs scored, "
        f"{time.perf_counter() - start:.1f} s wall",
        file=sys.stderr,
    )
    return 0


def _write_clusters(path: str, ids: np.ndarray, clusters: np.ndarray) -> None:
    import pandas as pd

    pd.DataFrame({"id": ids, "cluster_id": clusters}).to_csv(path, index=False)


def _write_review(path: str, result) -> None:
    import pandas as pd

    k = result.review
    pd.DataFrame(
        {
            "left_id": result.ids[result.left[k]],
            "right_id": result.ids[result.right[k]],
            "score": np.round(result.scores[k], 6),
        }
    ).to_csv(path, index=False)


def _write_links(path: str, result) -> None:
    import pandas as pd

    keep = np.flatnonzero(result.scores >= result.config.review_threshold)
    keep = keep[np.argsort(-result.scores[keep], kind="stable")]
    left, right = result.left[keep], result.right[keep]
    # report the first file's record on the left
    swap = result.table.sources[left] > result.table.sources[right]
    left, right = np.where(swap, right, left), np.where(swap, left, right)
    pd.DataFrame(
        {
            "left_id": result.ids[left],
            "right_id": result.ids[right],
            "score": np.round(result.scores[keep], 6),
        }
    ).to_csv(path, index=False)
