"""Storage of `single.RecordIndex`: numpy segments and a dict overlay.

A `Segment` holds one bulk load as the prepared table has it (per column,
int32 codes into an array of distinct values) plus, per exact blocking rule,
the sorted keys of its rows with the row of each, and per sorted-
neighbourhood rule its rows in value order: a block is two
`np.searchsorted` calls.  Removed rows are tombstoned.  The `Overlay` holds
the records added one at a time, in plain dicts, as few as live updates
make between two bulk loads.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd

from matching.config import MatchConfig
from matching.types import Column, Table

_MIX = np.uint64(0x9E3779B97F4A7C15)

# (value, row) pairs before a query value (nearest first) and after it
Neighbours = tuple[list[tuple[object, int]], list[tuple[object, int]]]


def tf_columns(config: MatchConfig) -> set[str]:
    """Columns whose term frequencies the scoring of `config` reads.

    Args:
        config: the model.
    """
    return {
        lv.tests[0].columns[0] for c in config.comparisons for lv in c.levels if lv.tf
    }


def row_values(col: Column) -> list:
    """Python values of a column per row (a tuple for a multi-valued one).

    Args:
        col: a prepared column.
    """
    if col.multi:
        return [
            tuple(col.values[c] for c in row if c >= 0) or None for row in col.codes
        ]
    return np.append(col.values, None)[col.codes].tolist()


def query_keys(columns: tuple[str, ...], values: Mapping[str, object]) -> list[tuple]:
    """Blocking keys of one record for one exact rule, as value tuples.

    A multi-valued column (which blocks alone) gives one key per value.

    Args:
        columns: the rule's columns.
        values: the record's value per column.
    """
    vals = [values.get(c) for c in columns]
    if any(v is None for v in vals):
        return []
    if isinstance(vals[0], tuple):
        return [(v,) for v in vals[0]]
    return [tuple(vals)]


def _code(index: pd.Index, value: object) -> int:
    # get_loc is a plain hash look-up; get_indexer costs ~100 times more
    try:
        return int(index.get_loc(value))
    except KeyError:
        return -1


def _combine(codes: list[np.ndarray]) -> np.ndarray:
    # one int64 key per row from the codes of a rule's columns; two distinct
    # combinations may collide, which only adds a candidate to be scored
    if len(codes) == 1:
        return codes[0].astype(np.int64)
    key = np.zeros(codes[0].shape, dtype=np.uint64)
    for c in codes:
        key = key * _MIX + (c.astype(np.uint64) + np.uint64(1))
    return key.view(np.int64)


class Segment:
    """One bulk load, as numpy arrays (see the module docstring).

    Args:
        config: the model (blocking rules and term-frequency columns).
        table: the prepared records.
        ids: their ids, as strings.
    """

    def __init__(self, config: MatchConfig, table: Table, ids: np.ndarray) -> None:
        self.config = config
        self.ids = ids
        self.columns = dict(table.columns)
        self.alive = np.ones(len(ids), dtype=bool)
        self.alive_count = len(ids)
        self._id_index: pd.Index | None = None
        names = {c for rule in config.blocking for c in rule.columns}
        names |= tf_columns(config)
        self._lookup = {
            n: pd.Index(self.columns[n].values) for n in names if n in self.columns
        }
        self._hash_lookups()
        self._tf = {
            n: self.columns[n].counts.copy()
            for n in tf_columns(config)
            if n in self.columns and not self.columns[n].multi
        }
        self._exact: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._sorted: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for r, rule in enumerate(config.blocking):
            if any(c not in self.columns for c in rule.columns):
                continue
            if rule.method == "exact":
                self._exact[r] = self._exact_keys(rule.columns)
            else:
                self._sorted[r] = self._value_order(rule.columns[0])

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def __getstate__(self) -> dict:
        # pickled without its id index, which `warm` rebuilds (and hashes)
        state = dict(self.__dict__)
        state["_id_index"] = None
        return state

    def warm(self) -> None:
        """Build what queries would otherwise build on first use: the value
        look-ups' hash tables (a pickled index has none) and the id index
        (indexing one record looks its id up). Done in a server's master
        before it forks, the workers share them instead of each building
        its own in its first requests (about 1.5 s at a million records)."""
        self._hash_lookups()
        self._ids_index()

    def _hash_lookups(self) -> None:
        for lookup in self._lookup.values():
            lookup.get_indexer(lookup[:1])  # builds the hash table

    def _exact_keys(self, columns: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        cols = [self.columns[c] for c in columns]
        if cols[0].multi:
            codes = cols[0].codes
            rows = np.repeat(np.arange(codes.shape[0], dtype=np.int32), codes.shape[1])
            keys = codes.reshape(-1).astype(np.int64)
            keep = keys >= 0
            rows, keys = rows[keep], keys[keep]
        else:
            ok = np.logical_and.reduce([c.codes >= 0 for c in cols])
            rows = np.flatnonzero(ok).astype(np.int32)
            keys = _combine([c.codes[rows] for c in cols])
        order = np.argsort(keys, kind="stable")
        return keys[order], rows[order]

    def _value_order(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        col = self.columns[column]
        rank = np.empty(len(col.values), dtype=np.int64)
        rank[np.argsort(col.values.astype(str), kind="stable")] = np.arange(
            len(col.values)
        )
        rows = np.flatnonzero(col.codes >= 0)
        rows = rows[np.argsort(rank[col.codes[rows]], kind="stable")]
        return col.values[col.codes[rows]], rows.astype(np.int32)

    def block(self, r: int, key: tuple) -> np.ndarray:
        """Live rows sharing exact rule `r`'s `key` (a tuple of values).

        Args:
            r: index of the blocking rule in the config.
            key: the key's value per rule column (see `query_keys`).
        """
        if r not in self._exact:
            return np.empty(0, dtype=np.int64)
        columns = self.config.blocking[r].columns
        codes = []
        for column, value in zip(columns, key, strict=True):
            code = _code(self._lookup[column], value)
            if code < 0:
                return np.empty(0, dtype=np.int64)
            codes.append(np.array([code]))
        keys, rows = self._exact[r]
        k = _combine(codes)[0]
        found = rows[
            np.searchsorted(keys, k, "left") : np.searchsorted(keys, k, "right")
        ]
        return self._live(found)

    def neighbours(self, r: int, value: object) -> Neighbours:
        """Up to window - 1 live rows either side of `value` in rule `r`'s order.

        Args:
            r: index of the blocking rule in the config.
            value: the query's value in the rule's column.
        """
        if r not in self._sorted:
            return [], []
        ordered, rows = self._sorted[r]
        reach = self.config.blocking[r].window - 1
        pos = int(np.searchsorted(ordered, value, "left"))
        before, after = [], []
        for i in range(pos - 1, -1, -1):
            if len(before) == reach:
                break
            if self.alive[rows[i]]:
                before.append((ordered[i], int(rows[i])))
        for i in range(pos, len(rows)):
            if len(after) == reach:
                break
            if self.alive[rows[i]]:
                after.append((ordered[i], int(rows[i])))
        return before, after

    def _live(self, rows: np.ndarray) -> np.ndarray:
        rows = rows.astype(np.int64)
        return rows if self.alive_count == len(self) else rows[self.alive[rows]]

    def value(self, name: str, row: int) -> object:
        """Python value of column `name` at `row` (None when missing).

        Args:
            name: a column name.
            row: a row of this store.
        """
        col = self.columns.get(name)
        if col is None:
            return None
        if col.multi:
            return tuple(col.values[c] for c in col.codes[row] if c >= 0) or None
        code = col.codes[row]
        return col.values[code] if code >= 0 else None

    def counts(self, name: str, values: np.ndarray) -> np.ndarray:
        """How many live rows hold each of `values` in column `name`.

        Args:
            name: a column name.
            values: the values to count.
        """
        if name not in self._tf:
            return np.zeros(len(values), dtype=np.int64)
        codes = np.array([_code(self._lookup[name], v) for v in values], dtype=int)
        return np.where(codes >= 0, self._tf[name][codes], 0)

    def code_counts(self, name: str, codes: np.ndarray) -> np.ndarray:
        """How many live rows hold each value, given by its code, in column
        `name` (zeros for a column whose term frequencies are not kept).

        Args:
            name: a column name.
            codes: codes into the column's values.
        """
        if name not in self._tf:
            return np.zeros(len(codes), dtype=np.int64)
        return self._tf[name][codes]

    def tf_totals(self) -> dict[str, int]:
        """Rows with a value, per term-frequency column."""
        return {n: int((self.columns[n].codes >= 0).sum()) for n in self._tf}

    def row_of(self, record_id: str) -> int | None:
        """Live row of a record id, or None.

        Args:
            record_id: a record id.
        """
        row = _code(self._ids_index(), record_id)
        return row if row >= 0 and self.alive[row] else None

    def rows_of(self, ids: pd.Index) -> np.ndarray:
        """Live row of each id, -1 where not (or no longer) here.

        Args:
            ids: record ids.
        """
        rows = self._ids_index().get_indexer(ids)
        dead = rows >= 0
        dead[dead] = ~self.alive[rows[dead]]
        rows[dead] = -1
        return rows

    def _ids_index(self) -> pd.Index:
        # built on first use (or by `warm`), not on load: a batch of bulk
        # loads never needs it
        if self._id_index is None:
            self._id_index = pd.Index(self.ids)
            self._id_index.get_indexer(self._id_index[:1])  # its hash table
        return self._id_index

    def id_at(self, row: int) -> str:
        """Id of the record at `row`.

        Args:
            row: a row of this store.
        """
        return str(self.ids[row])

    def remove(self, row: int) -> dict[str, object]:
        """Tombstone `row`; returns its term-frequency column values.

        Args:
            row: a row of this store.
        """
        self.alive[row] = False
        self.alive_count -= 1
        dropped = {}
        for name, counts in self._tf.items():
            code = self.columns[name].codes[row]
            dropped[name] = self.columns[name].values[code] if code >= 0 else None
            if code >= 0:
                counts[code] -= 1
        return dropped


class Overlay:
    """Records added one at a time, in dicts (see the module docstring).

    Args:
        config: the model (blocking rules and term-frequency columns).
    """

    def __init__(self, config: MatchConfig) -> None:
        self.config = config
        self.ids: dict[int, str] = {}
        self.row_of: dict[str, int] = {}
        self._values: dict[int, dict[str, object]] = {}
        self._postings: dict[tuple[int, tuple], list[int]] = {}
        self._sorted: dict[int, list[tuple[object, int]]] = {}
        self._tf = {name: Counter() for name in tf_columns(config)}

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, row: int, record_id: str, values: dict[str, object]) -> None:
        """Index `values` (the record's value per column) as `row`.

        Args:
            row: the row to index it as.
            record_id: its id.
            values: its value per column.
        """
        self.ids[row], self.row_of[record_id] = record_id, row
        self._values[row] = values
        for r, key in self._keys(values):
            if isinstance(key, tuple):
                self._postings.setdefault((r, key), []).append(row)
            else:
                bisect.insort(self._sorted.setdefault(r, []), (key, row))
        for name, counter in self._tf.items():
            if values.get(name) is not None:
                counter[values[name]] += 1

    def remove(self, row: int) -> dict[str, object]:
        """Drop `row`; returns its values.

        Args:
            row: a row of this store.
        """
        values = self._values.pop(row)
        del self.row_of[self.ids.pop(row)]
        for r, key in self._keys(values):
            if isinstance(key, tuple):
                self._postings[r, key].remove(row)
            else:
                self._sorted[r].remove((key, row))
        for name, counter in self._tf.items():
            if values.get(name) is not None:
                counter[values[name]] -= 1
        return values

    def _keys(self, values: dict[str, object]) -> list[tuple[int, object]]:
        out: list[tuple[int, object]] = []
        for r, rule in enumerate(self.config.blocking):
            if rule.method == "exact":
                out += [(r, key) for key in query_keys(rule.columns, values)]
            elif values.get(rule.columns[0]) is not None:
                out.append((r, values[rule.columns[0]]))
        return out

    def block(self, r: int, key: tuple) -> list[int]:
        """Rows sharing exact rule `r`'s `key`.

        Args:
            r: index of the blocking rule in the config.
            key: the key's value per rule column (see `query_keys`).
        """
        return self._postings.get((r, key), [])

    def neighbours(self, r: int, value: object) -> Neighbours:
        """Up to window - 1 rows either side of `value` in rule `r`'s order.

        Args:
            r: index of the blocking rule in the config.
            value: the query's value in the rule's column.
        """
        keys = self._sorted.get(r, [])
        reach = self.config.blocking[r].window - 1
        pos = bisect.bisect_left(keys, (value, -1))
        return keys[max(pos - reach, 0) : pos][::-1], keys[pos : pos + reach]

    def value(self, name: str, row: int) -> object:
        """Value of column `name` at `row` (None when missing).

        Args:
            name: a column name.
            row: a row of this store.
        """
        return self._values[row].get(name)

    def counts(self, name: str, values: np.ndarray) -> np.ndarray:
        """How many overlay rows hold each of `values` in column `name`.

        Args:
            name: a column name.
            values: the values to count.
        """
        counter = self._tf.get(name, Counter())
        return np.array([counter[v] for v in values], dtype=np.int64)
