"""Rows of one customer: its name cell merged down over its contacts' rows.

A Chinese customer list often gives a customer one row per contact and
merges the customer's own cells (name, ID, tax ID) down over them. Excel
shows the merged value beside each contact; the file holds it in the first
row only. Read as stored, the rows below are customers without a name.

Read as shown instead: a cell a merge covers holds the merge's value
(`MergedFill`). A row whose ID cell a merge covers, or whose name cell a
merge covers while it has no ID of its own (or the same one), continues
the customer of the merge's first row: its phones, e-mails, contacts and
addresses join that customer's (`joined_payload`). A row with an ID of its
own under a merged name is a customer of its own, the name filled in: one
company's several accounts.

Saved as CSV, the same sheet has no merges left: its contacts' rows have
neither name nor ID. An import told so (`ImportJob.blank_rows_continue`)
reads such a row as continuing the customer above it, in the same way.
"""

from __future__ import annotations

from typing import Any

from mdm.importing.headers import NAME_COLUMN_FIELDS
from mdm.importing.merged_cells import CoveredCells, Merge
from mdm.importing.readers import RawRow

# First rows' cells kept before those of merges that ended are let go.
_KEPT_FIRST_ROWS = 256


class MergedFill:
    """Fills the cells merges cover, row after row, and tells which row a
    row continues (`filled`)."""

    def __init__(
        self,
        merges: list[Merge],
        *,
        header_row: int,
        columns: list[tuple[int, str, str]],
    ) -> None:
        """`columns`: the mapped columns, (index, header, field) each."""
        # A merge starting in the header (a column name merged down over a
        # second header row) covers no data row's value.
        below = [m for m in merges if m.first_row > header_row]
        width = max((index for index, _, _ in columns), default=-1) + 1
        self._covered = CoveredCells(below, width)
        self._firsts = {m.first_row for m in below}
        self._first_cells: dict[int, list[object]] = {}
        self._names = [i for i, _, field in columns if field in NAME_COLUMN_FIELDS]
        self._id = next((i for i, _, field in columns if field == "source_id"), None)

    def filled(self, row: RawRow) -> tuple[RawRow, int | None]:
        """The row as Excel shows it, and the row number it continues (None:
        a customer of its own)."""
        if not self._covered:
            return row, None
        heads = self._covered.of_row(row.number)
        if row.number in self._firsts:
            self._first_cells[row.number] = row.cells
        if len(self._first_cells) > _KEPT_FIRST_ROWS:
            active = self._covered.first_rows() | {row.number}
            self._first_cells = {
                n: c for n, c in self._first_cells.items() if n in active
            }
        if not heads:
            return row, None
        own = row.cells
        cells = own + [None] * (max(heads) + 1 - len(own))
        for column, first in heads.items():
            top = self._first_cells.get(first, [])
            cells[column] = top[column] if column < len(top) else None
        filled = RawRow(row.number, cells)
        return filled, self._continued(own, cells, heads)

    def _continued(
        self, own: list[object], cells: list[object], heads: dict[int, int]
    ) -> int | None:
        if self._id in heads and _cell(own, self._id) is None:
            return heads[self._id]  # the customer's ID merged down: its row
        covered_names = [c for c in self._names if c in heads]
        if not covered_names or any(_cell(own, c) is not None for c in self._names):
            return None
        if (
            self._id is not None
            and self._id not in heads
            and _cell(own, self._id) is not None
        ):
            first = self._first_cells.get(heads[covered_names[0]], [])
            if _cell(first, self._id) != _cell(cells, self._id):
                return None  # an ID of its own: one of the company's accounts
        return heads[covered_names[0]]


def conflicting_header(
    joined: list[dict[str, Any]], payload: dict[str, Any], free: set[str]
) -> str | None:
    """The first column of `payload` (a continuing row's) whose value
    differs from the customer's so far, but for the `free` columns (those
    joined, and any whose first value simply stands); None if it fits."""
    for header, value in payload.items():
        if header in free:
            continue
        for earlier in joined:
            if (seen := earlier.get(header)) is not None and seen != value:
                return header
    return None


def joined_payload(
    payloads: list[dict[str, Any]], joinable: set[str]
) -> dict[str, Any]:
    """One customer's payload from its rows' payloads: each single-valued
    column's first value; each `joinable` column's value as one list, a row
    per item (None where the row has none, so that a contact's name and
    title stay together), or the one value every row has."""
    result: dict[str, Any] = {}
    lists: list[str] = []
    for payload in payloads:
        for header, value in payload.items():
            if header not in joinable:
                result.setdefault(header, value)
            elif header not in lists:
                lists.append(header)
    for header in lists:
        values = [payload.get(header) for payload in payloads]
        result[header] = values[0] if len(set(values)) == 1 else values
    return result


def _cell(cells: list[object], column: int) -> object:
    return cells[column] if column < len(cells) else None
