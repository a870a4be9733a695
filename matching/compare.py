"""Comparison levels for candidate pairs, computed column-wise.

For every pair and comparison the result is a small integer level code:
0 = no evidence (the field is missing on one side), 1..L = the first level
whose tests all hold, L+1 = else.  Strings are compared with rapidfuzz's
vectorised `cpdist`; exact tests compare dictionary codes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, Indel, JaroWinkler
from rapidfuzz.process import cpdist

from matching.config import Comparison, Test
from matching.types import Column, Table

_SIMILARITY = {
    "jaro_winkler": JaroWinkler.normalized_similarity,
    "ratio": Indel.normalized_similarity,
    "token_set": lambda a, b, **kw: fuzz.token_set_ratio(a, b, **kw) / 100.0,
}


class _Columns:
    """Per-call cache of derived per-value arrays (numbers, lengths, ...)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._cache: dict[tuple[str, ...], np.ndarray] = {}

    def col(self, name: str) -> Column:
        return self.table.columns[name]

    def derived(self, kind: str, name: str, other: str = "") -> np.ndarray:
        key = (kind, name, other)
        if key not in self._cache:
            values = self.col(name).values
            if kind == "number":
                arr = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
                self._cache[key] = arr.to_numpy(dtype=np.float64)
            elif kind == "length":
                self._cache[key] = np.fromiter(
                    (len(v) for v in values), dtype=np.int32, count=len(values)
                )
            elif kind == "first":
                self._cache[key] = np.fromiter(
                    (ord(v[0]) for v in values), dtype=np.int32, count=len(values)
                )
            elif kind == "has_parts":
                self._cache[key] = np.fromiter(
                    ("-" in v or " " in v for v in values),
                    dtype=bool,
                    count=len(values),
                )
            elif kind == "translate":
                # codes of `other`'s values in `name`'s dictionary
                idx = pd.Index(values).get_indexer(self.col(other).values)
                self._cache[key] = np.append(idx, -1).astype(np.int32)
        return self._cache[key]


def comparison_levels(
    table: Table,
    left: np.ndarray,
    right: np.ndarray,
    comparisons: Sequence[Comparison],
    workers: int = -1,
) -> np.ndarray:
    """Level code of every pair for every comparison, as int8 (pairs x comparisons).

    Args:
        table: the prepared records.
        left: row indices of the left records.
        right: row indices of the right records.
        comparisons: the comparisons, in config order.
        workers: rapidfuzz worker threads (-1 = all cores).
    """
    cols = _Columns(table)
    out = np.zeros((left.size, len(comparisons)), dtype=np.int8)
    for k, comp in enumerate(comparisons):
        out[:, k] = _levels_one(cols, left, right, comp, workers)
    return out


def _levels_one(
    cols: _Columns,
    left: np.ndarray,
    right: np.ndarray,
    comp: Comparison,
    workers: int,
) -> np.ndarray:
    evidence = np.zeros(left.size, dtype=bool)
    for name in comp.columns:
        if name in cols.table.columns:
            evidence |= _present(cols.col(name), left) & _present(cols.col(name), right)
    level = np.where(evidence, len(comp.levels) + 1, 0).astype(np.int8)
    todo = np.flatnonzero(evidence)
    for j, lv in enumerate(comp.levels, start=1):
        if todo.size == 0:
            break
        holds = np.ones(todo.size, dtype=bool)
        for test in lv.tests:
            sub = np.flatnonzero(holds)
            holds[sub] = run_test(
                cols, test, left[todo[sub]], right[todo[sub]], workers
            )
        level[todo[holds]] = j
        todo = todo[~holds]
    return level


def _present(col: Column, rows: np.ndarray) -> np.ndarray:
    codes = col.codes[rows]
    return (codes >= 0).any(axis=1) if codes.ndim == 2 else codes >= 0


def run_test(
    cols: _Columns | Table,
    test: Test,
    left: np.ndarray,
    right: np.ndarray,
    workers: int = 1,
) -> np.ndarray:
    """Evaluate one test on pairs; a missing value makes the test false.

    Args:
        cols: the prepared records.
        test: the test.
        left: left row indices.
        right: right row indices.
        workers: rapidfuzz worker threads.
    """
    if isinstance(cols, Table):
        cols = _Columns(cols)
    lname, rname = test.columns[0], test.rcolumns[0]
    if lname not in cols.table.columns or rname not in cols.table.columns:
        return np.zeros(left.size, dtype=bool)
    lc, rc = cols.col(lname), cols.col(rname)
    a, b = lc.codes[left], rc.codes[right]
    if lname != rname:
        b = cols.derived("translate", lname, rname)[b] if test.op == "exact" else b
    op = test.op
    if op == "exact":
        return _any_equal(a, b)
    if op == "differ":
        return (a >= 0) & (b >= 0) & (a != b)
    ok = (a >= 0) & (b >= 0)
    if a.ndim == 2 or b.ndim == 2:
        raise ValueError(f"test {op} needs single-valued columns")
    out = np.zeros(left.size, dtype=bool)
    idx = np.flatnonzero(ok)
    a, b = a[idx], b[idx]
    if op in _SIMILARITY or op == "damerau":
        # compare each distinct pair of values once: names repeat a lot
        pair_code, first = _distinct_pairs(a, b, len(rc.values))
        ua, ub = lc.values[a[first]], rc.values[b[first]]
        if op == "damerau":
            cutoff = int(test.threshold)
            dist = cpdist(
                ua,
                ub,
                scorer=DamerauLevenshtein.distance,
                score_cutoff=cutoff,
                workers=workers,
            )
            out[idx] = (dist <= cutoff)[pair_code]
        else:
            sim = cpdist(
                ua, ub, scorer=_SIMILARITY[op], workers=workers, dtype=np.float32
            )
            out[idx] = (sim >= np.float32(test.threshold) - np.float32(1e-6))[pair_code]
    elif op == "abs_diff":
        diff = np.abs(
            cols.derived("number", lname)[a] - cols.derived("number", rname)[b]
        )
        out[idx] = diff <= test.threshold
    elif op == "initial":
        la, lb = cols.derived("length", lname)[a], cols.derived("length", rname)[b]
        fa, fb = cols.derived("first", lname)[a], cols.derived("first", rname)[b]
        out[idx] = ((la == 1) ^ (lb == 1)) & (fa == fb)
    elif op == "shares_part":
        pa, pb = (
            cols.derived("has_parts", lname)[a],
            cols.derived("has_parts", rname)[b],
        )
        sel = np.flatnonzero(pa | pb)
        out[idx[sel]] = [
            bool(_parts(lc.values[x]) & _parts(rc.values[y]))
            for x, y in zip(a[sel], b[sel], strict=True)
        ]
    return out


def _distinct_pairs(
    a: np.ndarray, b: np.ndarray, n_right: int
) -> tuple[np.ndarray, np.ndarray]:
    """Code of each (a, b) among the distinct pairs, and a row of each."""
    codes, uniques = pd.factorize(a.astype(np.int64) * (n_right + 1) + b)
    first = np.empty(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return codes, first


def _parts(value: str) -> set[str]:
    return {p for p in value.replace("-", " ").split() if len(p) > 1}


def _any_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.ndim == 1 and b.ndim == 1:
        return (a >= 0) & (a == b)
    a2 = a if a.ndim == 2 else a[:, None]
    b2 = b if b.ndim == 2 else b[:, None]
    eq = (a2[:, :, None] == b2[:, None, :]) & (a2[:, :, None] >= 0)
    return eq.reshape(eq.shape[0], -1).any(axis=1)


def similarity(table: Table, test: Test, i: int, j: int) -> float | None:
    """Similarity (or distance) that `test` measures for one pair, for explanations.

    Args:
        table: the prepared records.
        test: a similarity or distance test.
        i: left row index.
        j: right row index.
    """
    lc, rc = table.columns[test.columns[0]], table.columns[test.rcolumns[0]]
    if lc.multi or rc.multi or lc.codes[i] < 0 or rc.codes[j] < 0:
        return None
    a, b = lc.values[lc.codes[i]], rc.values[rc.codes[j]]
    if test.op in _SIMILARITY:
        return float(_SIMILARITY[test.op](a, b))
    if test.op == "damerau":
        return float(DamerauLevenshtein.distance(a, b))
    return None
