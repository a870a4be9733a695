"""The single-record path: match one incoming record against an index.

`RecordIndex` keeps the standardised records column by column, as numpy
arrays of dictionary codes, and each exact blocking rule as a sorted array
of keys with the row of each, so a query costs a few `np.searchsorted`
look-ups plus a comparison of a few dozen candidates; no batch work is
redone.  Records added or changed one at a time go to a small dict-based
overlay, and removed ones are tombstoned (see `matching.index_parts`).
Scoring reuses the batch comparison and weight code on a tiny table made of
the query and its candidates, so both paths agree.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial

import numpy as np
import pandas as pd

from matching import score
from matching.compare import comparison_levels
from matching.config import MatchConfig
from matching.index_parts import (
    Overlay,
    Segment,
    query_keys,
    row_values,
    tf_columns,
)
from matching.mini_column import MiniColumn, NotPlainText
from matching.prepare import encode, prepare_one, prepare_records
from matching.types import Candidate, Column, Record, Table

_RECENT = 16


class RecordIndex:
    """Blocking index over standardised records; add/update/remove.

    Bulk loads (`add_table`, or `records` here) become numpy segments; `add`
    and `update` go to the overlay.

    Args:
        config: a trained config (its blocking rules define the index).
        records: records to index initially.
    """

    def __init__(self, config: MatchConfig, records: Iterable[Record] = ()) -> None:
        if not config.trained:
            raise ValueError("RecordIndex needs a trained config")
        self.config = config
        self._segments: list[Segment] = []
        self._starts: list[int] = []
        self._overlay = Overlay(config)
        self._next_row = 0
        self._tf_totals = dict.fromkeys(tf_columns(config), 0)
        # one-record tables prepared lately: a record matched on arrival is
        # indexed moments later with the same fields (see `prepared`)
        self._recent: dict[tuple, Table] = {}
        self._recent_lock = threading.Lock()
        records = list(records)
        if records:
            self.add_table(prepare_records(records, config.schema))

    def __len__(self) -> int:
        return sum(s.alive_count for s in self._segments) + len(self._overlay)

    def __getstate__(self) -> dict:
        # pickled without its lock and its cache of recent one-record tables
        state = dict(self.__dict__)
        del state["_recent_lock"]
        state["_recent"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._recent_lock = threading.Lock()

    def warm(self) -> None:
        """Build every structure a query would build on first use (see
        `Segment.warm`): before a server forks its workers."""
        for segment in self._segments:
            segment.warm()

    def add_table(self, table: Table) -> None:
        """Index every row of a prepared table (bulk load, kept as arrays).

        Args:
            table: records prepared for the config's schema.
        """
        ids = pd.Index(np.asarray(table.ids, dtype=object).astype(str))
        clash = ids[ids.duplicated()].tolist()[:1]
        if len(self._overlay):
            clash += [i for i in ids if i in self._overlay.row_of][:1]
        for segment in self._segments:
            found = segment.rows_of(ids)
            clash += ids[found >= 0].tolist()[:1]
        if clash:
            raise ValueError(f"record {clash[0]} is already indexed (or repeated)")
        segment = Segment(self.config, table, ids.to_numpy())
        self._segments.append(segment)
        self._starts.append(self._next_row)
        self._next_row += len(segment)
        for name, total in segment.tf_totals().items():
            self._tf_totals[name] += total

    def add(self, record: Record) -> None:
        """Index one record (in the overlay).

        Args:
            record: the record (its id must not be indexed yet).
        """
        if self._find(str(record.id)) is not None:
            raise ValueError(f"record {record.id} is already indexed (or repeated)")
        table = self.prepared(record)
        values = {name: row_values(col)[0] for name, col in table.columns.items()}
        self._overlay.add(self._next_row, str(record.id), values)
        for name in self._tf_totals:
            self._tf_totals[name] += values.get(name) is not None
        self._next_row += 1

    def prepared(self, record: Record) -> Table:
        """`record` standardised for the index's schema, as a one-row table;
        the last few are kept, so matching a record and then indexing it (or
        the reverse) standardises it once.

        Args:
            record: the record.
        """
        key = (str(record.id), record.source, tuple(sorted(record.fields.items())))
        with self._recent_lock:
            table = self._recent.pop(key, None)
        if table is None:
            table = prepare_one(record, self.config.schema)
        with self._recent_lock:
            self._recent[key] = table  # the most recent last
            while len(self._recent) > _RECENT:
                del self._recent[next(iter(self._recent))]
        return table

    def remove(self, record_id: str) -> None:
        """Drop a record from the index.

        Args:
            record_id: id of an indexed record.
        """
        found = self._find(str(record_id))
        if found is None:
            raise KeyError(record_id)
        segment, local = found
        dropped = (
            self._overlay.remove(local) if segment is None else segment.remove(local)
        )
        for name in self._tf_totals:
            self._tf_totals[name] -= dropped.get(name) is not None

    def update(self, record: Record) -> None:
        """Replace an indexed record by its new version.

        Args:
            record: the new version (same id).
        """
        self.remove(record.id)
        self.add(record)

    def _find(self, record_id: str) -> tuple[Segment | None, int] | None:
        row = self._overlay.row_of.get(record_id)
        if row is not None:
            return None, row
        for segment in self._segments:
            local = segment.row_of(record_id)
            if local is not None:
                return segment, local
        return None

    def candidates(self, query: Table) -> list[int]:
        """Rows sharing a blocking key with the one-row prepared `query`.

        A block as large as the rule's cap is skipped, as the batch skips it
        once the query would join it.

        Args:
            query: a one-row table prepared for the config's schema.
        """
        values = {n: row_values(c)[0] for n, c in query.columns.items()}
        found: set[int] = set()
        for r, rule in enumerate(self.config.blocking):
            if rule.method != "exact":
                found.update(self._neighbours(r, values.get(rule.columns[0])))
                continue
            cap = rule.max_block_size or self.config.max_block_size
            for key in query_keys(rule.columns, values):
                block = [
                    start + segment.block(r, key)
                    for start, segment in zip(self._starts, self._segments, strict=True)
                ]
                block.append(np.asarray(self._overlay.block(r, key), dtype=np.int64))
                rows = np.concatenate(block)
                if rows.size < cap:
                    found.update(rows.tolist())
        return sorted(found)

    def _neighbours(self, r: int, value: object) -> list[int]:
        # the window around the query in the order of all stores together, as
        # the batch's sorted neighbourhood sees one table
        if value is None:
            return []
        before, after = self._overlay.neighbours(r, value)
        for start, segment in zip(self._starts, self._segments, strict=True):
            seg_before, seg_after = segment.neighbours(r, value)
            before += [(v, start + row) for v, row in seg_before]
            after += [(v, start + row) for v, row in seg_after]
        reach = self.config.blocking[r].window - 1
        before = sorted(before, reverse=True)[:reach]
        after = sorted(after)[:reach]
        return [row for _, row in before + after]

    def ids_of(self, rows: Iterable[int]) -> list[str]:
        """Record ids of indexed rows.

        Args:
            rows: rows as returned by `candidates`.
        """
        return [
            self._overlay.ids[local] if segment is None else segment.id_at(local)
            for segment, local in map(self._locate, rows)
        ]

    def mini_table(self, query: Table, rows: list[int]) -> Table:
        """The query (row 0) and the given indexed rows as one small table.

        Args:
            query: a one-row prepared table.
            rows: indexed rows to append.
        """
        where = [self._locate(row) for row in rows]
        columns = None
        if any(store is not None for store, _ in where):
            try:
                columns = self._columns_from_store(query, where)
            except NotPlainText:
                pass
        if columns is None:
            columns = {
                name: self._column(name, self._values(name, qcol, where), qcol.multi)
                for name, qcol in query.columns.items()
            }
        ids = np.array(["?", *self.ids_of(rows)], dtype=object)
        return Table(ids=ids, columns=columns)

    def _columns_from_store(
        self, query: Table, where: list[tuple[Segment | None, int]]
    ) -> dict[str, Column]:
        # the candidates of the segment holding most of them (after a build,
        # all but the overlay's): array operations (see matching.mini_column);
        # the others (the overlay's, a catch-up segment's) one by one
        held = Counter(id(s) for s, _ in where if s is not None)
        most = max(held, key=held.get)
        store = next(s for s, _ in where if s is not None and id(s) == most)
        positions = [p for p, (s, _) in enumerate(where, 1) if s is store]
        rows = np.array([r for s, r in where if s is store], dtype=np.int64)
        others = [(p, s, r) for p, (s, r) in enumerate(where, 1) if s is not store]
        columns = {}
        for name, qcol in query.columns.items():
            column = MiniColumn(
                store,
                store.columns.get(name),
                qcol.multi,
                positions,
                rows,
                len(where) + 1,
            )
            column.put(0, row_values(qcol)[0])
            for position, other, row in others:
                source = self._overlay if other is None else other
                column.put(position, source.value(name, row))
            codes, values = column.codes(), column.values()
            columns[name] = self._with_counts(
                name, codes, values, column.counts_in_store, store
            )
        return columns

    def _values(
        self, name: str, qcol: Column, where: list[tuple[Segment | None, int]]
    ) -> list:
        return row_values(qcol) + [
            self._overlay.value(name, local)
            if segment is None
            else segment.value(name, local)
            for segment, local in where
        ]

    def _locate(self, row: int) -> tuple[Segment | None, int]:
        if row in self._overlay.ids:
            return None, row
        k = bisect.bisect_right(self._starts, row) - 1
        return self._segments[k], row - self._starts[k]

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
        return self._with_counts(name, codes, values)

    def _with_counts(
        self,
        name: str,
        codes: np.ndarray,
        values: np.ndarray,
        counts_in_store: Callable[[str], np.ndarray] | None = None,
        store: Segment | None = None,
    ) -> Column:
        # `counts_in_store`: how `store` counts `values`, when known better
        # than by looking each one up
        multi = codes.ndim == 2
        if name not in self._tf_totals or multi:
            counts = np.bincount(codes[codes >= 0], minlength=len(values))
            return Column(codes, values, counts, int((codes >= 0).sum()))
        # term frequencies over the indexed records plus the query (row 0):
        # the same reference a batch run holding both would count
        counts = self._overlay.counts(name, values)
        for segment in self._segments:
            if segment is store and counts_in_store is not None:
                counts += counts_in_store(name)
            else:
                counts += segment.counts(name, values)
        total = self._tf_totals[name]
        if codes[0] >= 0:
            counts[codes[0]] += 1
            total += 1
        return Column(codes=codes, values=values, counts=counts, total=total)


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
    if config.schema == index.config.schema:
        query = index.prepared(record)
    else:
        query = prepare_records([record], config.schema)
    found = index.candidates(query)
    rows = [
        r for r, i in zip(found, index.ids_of(found), strict=True) if i != record.id
    ]
    if not rows:
        return []
    mini = index.mini_table(query, rows)
    right = np.arange(1, len(rows) + 1)
    left = np.zeros(len(rows), dtype=np.int64)
    levels = comparison_levels(mini, left, right, config.comparisons, workers=1)
    weights = score.match_weights(mini, left, levels, config)
    probs = score.probabilities(
        weights, levels, config, score.held_for_review(mini, left, right)
    )
    # best probability first (a capped pair may weigh more than it scores)
    order = [k for k in np.lexsort((-weights, -probs)) if probs[k] >= min_score]
    return [
        Candidate(
            id=str(mini.ids[k + 1]),
            score=float(probs[k]),
            match_weight=float(weights[k]),
            explain=partial(score.explain, mini, 0, k + 1, levels[k], config),
        )
        for k in order[:top]
    ]
