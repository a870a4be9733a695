"""Cells merged down over several rows, and which cells of a row they cover.

Chinese customer lists often merge a customer's name (its ID, its tax ID)
down over the rows of its contacts: one customer, a row per contact. A
spreadsheet stores the merged value in the top cell only and leaves the
cells below empty, so without the merges those rows look like customers
whose name was left blank. `Merge` is one merged range; `CoveredCells` tells,
row after row, which of a row's cells a merge from a row above covers and
which row holds their value.
"""

from __future__ import annotations

import re
import xml.parsers.expat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

from openpyxl.utils.cell import range_boundaries

from mdm.importing import messages
from mdm.importing.errors import ImportFileError

# <mergeCell ref="A2:A4"/>, in the <mergeCells> that follows <sheetData>
# (any namespace prefix: some writers use x:).
_MERGE_CELL = re.compile(
    rb'<(?:\w+:)?mergeCell\s[^>]*?\bref="([A-Za-z]+\d+(?::[A-Za-z]+\d+)?)"'
)
_SHEET_DATA_END = re.compile(rb"</(?:\w+:)?sheetData>")
_CHUNK = 1 << 20
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"


@dataclass(frozen=True, slots=True)
class Merge:
    """A merged range: rows 1-based as Excel numbers them (the first holds
    the value), columns 0-based as `RawRow.cells` indexes them."""

    first_row: int
    last_row: int
    first_column: int
    last_column: int


class CoveredCells:
    """The cells of each row a merge from a row above covers, for rows asked
    in increasing order (a sweep: the merges active at a row, not a map of
    every covered cell, which a merge over A1:XFD1048576 would make huge).
    Only columns below `width` are told: a row holds no others."""

    def __init__(self, merges: Iterable[Merge], width: int) -> None:
        self._waiting = sorted(
            (m for m in merges if m.last_row > m.first_row and m.first_column < width),
            key=lambda m: m.first_row,
            reverse=True,
        )
        self._active: list[Merge] = []
        self._width = width

    def __bool__(self) -> bool:
        return bool(self._waiting or self._active)

    def of_row(self, number: int) -> dict[int, int]:
        """{column: the row holding its value} for the cells of row `number`
        a merge from above covers."""
        while self._waiting and self._waiting[-1].first_row < number:
            self._active.append(self._waiting.pop())
        self._active = [m for m in self._active if m.last_row >= number]
        return {
            column: merge.first_row
            for merge in self._active
            for column in range(
                merge.first_column, min(merge.last_column + 1, self._width)
            )
        }

    def first_rows(self) -> set[int]:
        """The first rows of the merges covering the row last asked about."""
        return {merge.first_row for merge in self._active}


def too_many_merges(limit: int) -> ImportFileError:
    """The error for a sheet of more than `limit` merged ranges (each is
    held while the sheet is read: a small file must not fill the memory)."""
    return ImportFileError(
        "too_many_merges", messages.TOO_MANY_MERGES, limit=f"{limit:,}"
    )


class MergeList(list[Merge]):
    """The merges a reader finds, refused past `limit` (`too_many_merges`)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def add(self, merge: Merge) -> None:
        if len(self) >= self.limit:
            raise too_many_merges(self.limit)
        self.append(merge)


def calamine_merges(
    ranges: list[tuple[tuple[int, int], tuple[int, int]]] | None, limit: int
) -> list[Merge]:
    """python-calamine's `merged_cell_ranges` (0-based, inclusive) as `Merge`s."""
    if ranges and len(ranges) > limit:
        raise too_many_merges(limit)
    return [
        Merge(first[0] + 1, last[0] + 1, first[1], last[1])
        for first, last in ranges or ()
    ]


def xlsx_merges(archive: zipfile.ZipFile, part: str, limit: int) -> list[Merge]:
    """The merged ranges of an .xlsx worksheet `part`, found by scanning its
    XML after <sheetData> (openpyxl's read-only mode, which streams the
    rows, does not read them). The part is decompressed once more: a
    streamed sheet is a big one, and this is one pass without parsing."""
    refs: list[bytes] = []
    carried = b""
    after_data = False
    with archive.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            text = carried + chunk
            if not after_data:
                end = _SHEET_DATA_END.search(text)
                if end is None:
                    carried = text[-32:]  # the end tag may straddle chunks
                    continue
                after_data, text = True, text[end.end() :]
            # Scan up to the last complete tag; the rest waits for more bytes.
            cut = text.rfind(b">") + 1
            refs += _MERGE_CELL.findall(text, 0, cut)
            if len(refs) > limit:
                raise too_many_merges(limit)
            carried = text[cut:]
    return [merge for ref in refs if (merge := _merge(ref.decode("ascii")))]


def _merge(ref: str) -> Merge | None:
    try:
        first_column, first_row, last_column, last_row = range_boundaries(ref)
    except ValueError:
        return None  # past column XFD: no cell of the sheet is there
    return Merge(first_row, last_row, first_column - 1, last_column - 1)


def ods_merges(archive: zipfile.ZipFile, sheet: str, limit: int) -> list[Merge]:
    """The merged ranges of the ODS sheet named `sheet` (a cell's
    `table:number-rows-spanned` and `-columns-spanned`; python-calamine does
    not read them), found by a pass of expat over content.xml (already
    walked once, without complaint, by `safety.check_ods_extent`)."""
    walk = _OdsMerges(sheet, limit)
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = walk.start
    parser.EndElementHandler = walk.end
    with archive.open("content.xml") as content:
        while chunk := content.read(_CHUNK):
            parser.Parse(chunk, False)
    parser.Parse(b"", True)
    return walk.merges


class _OdsMerges:
    def __init__(self, sheet: str, limit: int) -> None:
        self.sheet = sheet
        self.merges = MergeList(limit)
        self._wanted = False
        self._row = 0  # rows before the open one
        self._row_repeat = 1
        self._column = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == f"{_TABLE} table":
            self._wanted = attrs.get(f"{_TABLE} name") == self.sheet
            self._row = 0
        elif not self._wanted:
            return
        elif name == f"{_TABLE} table-row":
            self._row_repeat = _count(attrs, "number-rows-repeated")
            self._column = 0
        elif name in (f"{_TABLE} table-cell", f"{_TABLE} covered-table-cell"):
            rows = _count(attrs, "number-rows-spanned")
            if rows > 1:
                columns = _count(attrs, "number-columns-spanned")
                first, column = self._row + 1, self._column
                self.merges.add(
                    Merge(first, first + rows - 1, column, column + columns - 1)
                )
            self._column += _count(attrs, "number-columns-repeated")

    def end(self, name: str) -> None:
        if self._wanted and name == f"{_TABLE} table-row":
            self._row += self._row_repeat
        elif name == f"{_TABLE} table":
            self._wanted = False


def _count(attrs: dict[str, str], name: str) -> int:
    try:
        return max(1, int(attrs.get(f"{_TABLE} {name}", 1)))
    except ValueError:
        return 1
