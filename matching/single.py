"""The single-record path: match one incoming record against an index.

`RecordIndex` keeps the standardised values of the indexed records and an
inverted index from blocking key to rows, so a query costs a few dict
look-ups plus a comparison of a few dozen candidates; no batch work is
redone.  Scoring reuses the batch comparison and weight code on a tiny
table made of the query and its candidates, so both paths agree.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable

import numpy as np

from matching import score
from matching.compare import comparison_levels
from matching.config import MatchConfig
from matching.prepare import encode, prepare_records
from matching.types import Candidate, Column, Record, Table

_SEP = "\x1f"


class RecordIndex:
    """Inverted blocking index over standardised records; add/update/remove.

    Args:
        config: a trained config (its blocking rules define the index).
        records: records to index initially.
    """

    def __init__(self, config: MatchConfig, records: Iterable[Record] = ()) -> None:
        if not config.trained:
            raise ValueError("RecordIndex needs a trained config")
        self.config = config
        self._row_of: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._values: dict[str, list] = {}
        self._postings: dict[str, list[int]] = {}
        self._sorted: dict[int, list[tuple[str, int]]] = {}
        self._counts: dict[str, Counter] = {}
        self._totals: dict[str, int] = {}
        records = list(records)
        if records:
            self.add_table(prepare_records(records, config.schema))

    def __len__(self) -> int:
        return len(self._row_of)

    def add_table(self, table: Table) -> None:
        """Index every row of a prepared table (bulk load).

        Args:
            table: records prepared for the config's schema.
        """
        ids = [str(i) for i in table.ids]
        clash = next((i for i in ids if i in self._row_of), None)
        if clash is not None or len(set(ids)) != len(ids):
            raise ValueError(f"record {clash} is already indexed (or repeated)")
        start = len(self._ids)
        for name, col in table.columns.items():
            vals = self._values.setdefault(name, [None] * start)
            vals.extend(_row_values(col))
        for vals in self._values.values():
            vals.extend([None] * (start + len(ids) - len(vals)))
        self._row_of.update(zip(ids, range(start, start + len(ids)), strict=True))
        self._ids.extend(ids)
        rows = range(start, start + len(ids))
        new_sorted: dict[int, list[tuple[str, int]]] = {}
        for row in rows:
            for r, key in _keys(self.config, self._values, row):
                if self.config.blocking[r].method == "exact":
                    self._postings.setdefault(f"{r}{_SEP}{key}", []).append(row)
                else:
                    new_sorted.setdefault(r, []).append((key, row))
        # one sort per rule instead of an insort per row
        for r, pairs in new_sorted.items():
            self._sorted[r] = sorted(self._sorted.get(r, []) + pairs)
        for name in self._tf_columns():
            added = [v for v in self._values[name][start:] if v is not None]
            self._counts.setdefault(name, Counter()).update(added)
            self._totals[name] = self._totals.get(name, 0) + len(added)

    def add(self, record: Record) -> None:
        """Index one record.

        Args:
            record: the record (its id must not be indexed yet).
        """
        self.add_table(prepare_records([record], self.config.schema))

    def remove(self, record_id: str) -> None:
        """Drop a record from the index.

        Args:
            record_id: id of an indexed record.
        """
        row = self._row_of.pop(str(record_id))
        self._link(row, -1)
        self._ids[row] = None

    def update(self, record: Record) -> None:
        """Replace an indexed record by its new version.

        Args:
            record: the new version (same id).
        """
        self.remove(record.id)
        self.add(record)

    def _link(self, row: int, sign: int) -> None:
        for r, key in _keys(self.config, self._values, row):
            rule = self.config.blocking[r]
            if rule.method == "exact":
                posting = self._postings.setdefault(f"{r}{_SEP}{key}", [])
                if sign > 0:
                    posting.append(row)
                else:
                    posting.remove(row)
            else:
                keys = self._sorted.setdefault(r, [])
                if sign > 0:
                    bisect.insort(keys, (key, row))
                else:
                    keys.remove((key, row))
        for name in self._tf_columns():
            value = self._values[name][row]
            if value is not None:
                self._counts.setdefault(name, Counter())[value] += sign
                self._totals[name] = self._totals.get(name, 0) + sign

    def _tf_columns(self) -> set[str]:
        return {
            lv.tests[0].columns[0]
            for c in self.config.comparisons
            for lv in c.levels
            if lv.tf
        } & set(self._values)

    def candidates(self, query: Table) -> list[int]:
        """Rows sharing a blocking key with the one-row prepared `query`.

        Args:
            query: a one-row table prepared for the config's schema.
        """
        values = {n: _row_values(c) for n, c in query.columns.items()}
        found: set[int] = set()
        for r, key in _keys(self.config, values, 0):
            rule = self.config.blocking[r]
            cap = rule.max_block_size or self.config.max_block_size
            if rule.method == "exact":
                posting = self._postings.get(f"{r}{_SEP}{key}", ())
                if len(posting) < cap:
                    found.update(posting)
            else:
                keys = self._sorted.get(r, [])
                pos = bisect.bisect_left(keys, (key, -1))
                lo, hi = max(pos - rule.window + 1, 0), pos + rule.window - 1
                found.update(row for _, row in keys[lo:hi])
        return sorted(found)

    def mini_table(self, query: Table, rows: list[int]) -> Table:
        """The query (row 0) and the given indexed rows as one small table.

        Args:
            query: a one-row prepared table.
            rows: indexed rows to append.
        """
        columns = {}
        for name, qcol in query.columns.items():
            stored = self._values.get(name)
            vals = _row_values(qcol) + [stored[r] if stored else None for r in rows]
            columns[name] = self._column(name, vals, qcol.multi)
        ids = np.array(["?"] + [self._ids[r] for r in rows], dtype=object)
        return Table(ids=ids, columns=columns)

    def _column(self, name: str, vals: list, multi: bool) -> Column:
        if multi:
            width = max([len(v) for v in vals if v] + [1])
            flat = [x for v in vals for x in (v or ())]
            f_codes, values = encode(flat) if flat else encode([])
            codes = np.full((len(vals), width), -1, dtype=np.int32)
            pos = 0
            for i, v in enumerate(vals):
                k = len(v or ())
                codes[i, :k] = f_codes[pos : pos + k]
                pos += k
        else:
            codes, values = encode(vals)
        counter = self._counts.get(name)
        if counter is None:
            counts = np.bincount(codes[codes >= 0], minlength=len(values))
            total = int((codes >= 0).sum())
        else:
            counts = np.array([max(counter[v], 1) for v in values], dtype=np.int64)
            total = max(self._totals.get(name, 0), 1)
        return Column(codes=codes, values=values, counts=counts, total=total)


def _row_values(col: Column) -> list:
    if col.multi:
        return [
            tuple(col.values[c] for c in row if c >= 0) or None for row in col.codes
        ]
    return np.append(col.values, None)[col.codes].tolist()


def _keys(config: MatchConfig, values: dict[str, list], row: int) -> list[tuple]:
    """(rule index, key) pairs of one stored row, as the batch blocks it."""
    out = []
    for r, rule in enumerate(config.blocking):
        cols = [values.get(c) for c in rule.columns]
        if any(c is None for c in cols):
            continue
        vals = [c[row] for c in cols]
        if any(v is None for v in vals):
            continue
        if isinstance(vals[0], tuple):
            out.extend((r, v) for v in vals[0])
        else:
            out.append((r, _SEP.join(vals)))
    return out


def match_one(
    record: Record,
    index: RecordIndex,
    config: MatchConfig | None = None,
    top: int = 5,
    min_score: float = 0.0,
) -> list[Candidate]:
    """Best matches for one record among the indexed ones, with explanations.

    Args:
        record: the incoming record (need not be indexed).
        index: the index to search.
        config: the model; defaults to the index's config.
        top: how many candidates to return at most.
        min_score: drop candidates scoring below this probability.
    """
    config = config or index.config
    query = prepare_records([record], config.schema)
    rows = [r for r in index.candidates(query) if index._ids[r] != record.id]
    if not rows:
        return []
    mini = index.mini_table(query, rows)
    right = np.arange(1, len(rows) + 1)
    left = np.zeros(len(rows), dtype=np.int64)
    levels = comparison_levels(mini, left, right, config.comparisons, workers=1)
    weights = score.match_weights(mini, left, levels, config)
    probs = score.probabilities(weights, levels, config)
    order = [k for k in np.argsort(-weights, kind="stable") if probs[k] >= min_score]
    return [
        Candidate(
            id=str(mini.ids[k + 1]),
            score=float(probs[k]),
            match_weight=float(weights[k]),
            evidence=score.explain(mini, 0, k + 1, levels[k], config),
        )
        for k in order[:top]
    ]
