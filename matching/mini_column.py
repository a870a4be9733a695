"""One column of the small table `RecordIndex.mini_table` scores, built from
array operations for the candidates of one segment.

Row 0 is the query, then the candidates. The segment's codes of its
candidates are taken as they are (`np.unique`: its values are distinct
already), its values read by code, and only the query's value and those of
the other candidates (the overlay's, a catch-up segment's: a few) are
matched against them in Python. The segment's code of each value is kept,
so its term frequency there is read by code, not looked up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matching.index_parts import Segment
from matching.prepare import plain_text
from matching.types import Column


class NotPlainText(Exception):
    """A value that pandas and a dict would encode differently (see
    `matching.prepare.plain_text`): the column goes the batch way."""


class MiniColumn:
    """Codes and distinct values of one small-table column.

    Args:
        store: the segment most candidates come from.
        column: its column (None when the segment lacks it).
        multi: whether the column is multi-valued.
        positions: rows of the small table holding the segment's candidates.
        rows: their rows in the segment.
        size: rows of the small table.
    """

    def __init__(
        self,
        store: Segment,
        column: Column | None,
        multi: bool,
        positions: Sequence[int],
        rows: np.ndarray,
        size: int,
    ) -> None:
        self.store = store
        self.multi = multi
        if column is None:
            self._store_codes = np.empty(0, dtype=np.int64)
            self._values: list = []
            shape = (size, 1) if multi else size
            self._codes = np.full(shape, -1, dtype=np.int32)
            return
        found = column.codes[rows]
        distinct, inverse = np.unique(found.ravel(), return_inverse=True)
        present = distinct >= 0
        remap = (np.cumsum(present) - 1).astype(np.int32)
        remap[~present] = -1
        mapped = remap[inverse.ravel()].reshape(found.shape)
        self._store_codes = distinct[present]
        self._values = column.values[self._store_codes].tolist()
        if not self.multi:
            self._codes = np.full(size, -1, dtype=np.int32)
            self._codes[positions] = mapped
            return
        # present values first, in slot order, as a tuple of them would be
        order = np.argsort(mapped < 0, axis=1, kind="stable")
        self._codes = np.full((size, found.shape[1]), -1, dtype=np.int32)
        self._codes[positions] = np.take_along_axis(mapped, order, 1)

    def put(self, position: int, value: object) -> None:
        """Place a Python value (a tuple if multi-valued; None: missing).

        Raises NotPlainText for a value a dict cannot encode as pandas would.

        Args:
            position: a row of the small table.
            value: the value.
        """
        if not self.multi:
            self._codes[position] = -1 if value is None else self._code(value)
            return
        codes = [self._code(v) for v in value or ()]
        if len(codes) > self._codes.shape[1]:
            wider = np.full((len(self._codes), len(codes)), -1, dtype=np.int32)
            wider[:, : self._codes.shape[1]] = self._codes
            self._codes = wider
        self._codes[position] = -1
        self._codes[position, : len(codes)] = codes

    def _code(self, value: object) -> int:
        if not plain_text(value):
            raise NotPlainText(value)
        try:
            return self._values.index(value)
        except ValueError:
            self._values.append(value)
            return len(self._values) - 1

    def codes(self) -> np.ndarray:
        """Codes (-1: missing), records x slots if multi-valued (at least one
        slot, no slot empty in every row)."""
        if not self.multi:
            return self._codes
        width = max(int((self._codes >= 0).sum(axis=1).max(initial=0)), 1)
        return self._codes[:, :width]

    def values(self) -> np.ndarray:
        """The distinct values, in code order."""
        values = np.empty(len(self._values), dtype=object)
        values[:] = self._values
        return values

    def counts_in_store(self, name: str) -> np.ndarray:
        """How many live rows of the segment hold each distinct value in its
        column `name`.

        Args:
            name: the column's name.
        """
        known = len(self._store_codes)
        counts = np.zeros(len(self._values), dtype=np.int64)
        counts[:known] = self.store.code_counts(name, self._store_codes)
        if len(self._values) > known:
            counts[known:] = self.store.counts(name, self.values()[known:])
        return counts
