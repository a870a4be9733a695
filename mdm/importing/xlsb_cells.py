"""How far the cells of an Excel binary workbook (.xlsb) reach.

python-calamine loads a sheet whole, as a dense box from its first cell to
its last, so one stray cell at XFD1048576 in a small file would ask for 17
billion cells. Before an .xlsb is opened its worksheet parts (those the
workbook's relationships name, as calamine finds them) are walked record by
record ([MS-XLSB] 2.1.4: a record type and a size, each a
little-endian 7-bit varint, then the data) and the furthest row and column
of any cell found; the declared dimension (BrtWsDim) may lie and is not
read.

Some writers (Aspose.Cells by default, SheetJS) store most cells in the
compact records of Excel 2010's format (BrtShortBlank .. BrtShortIsst),
which leave the column out: one past the cell before it in the row.
calamine skips them, cells lost without a word; the walk tells they are
there (`Extent.compact`) so that `xlsb_compact_cells` can write them out
in full first. The same walk reads a sheet's merged ranges (BrtMergeCell,
which calamine does not read from an .xlsb): `xlsb_merges`.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, NamedTuple

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedElementTree

from mdm.importing import messages
from mdm.importing.errors import ImportFileError
from mdm.importing.merged_cells import Merge, MergeList
from mdm.importing.safety import ZIP_READ_ERRORS

_READ_BYTES = 1024 * 1024
ROW_HEADER = 0  # BrtRowHdr: the row index (uint32) of the cells that follow
# BrtCellBlank .. BrtFmlaError and BrtCellRString: each starts with its
# column index (uint32).
CELLS = frozenset((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 62))
# BrtShortBlank .. BrtShortIsst: BrtCellBlank .. BrtCellIsst (kind - 11)
# without the column.
SHORT_CELLS = range(12, 19)
SHORT_TO_FULL = 11
# By record type below 64: what the walk does with it.
_SKIP, _INDEXED, _SHORT = 0, 1, 2
_KINDS = bytes(
    _INDEXED
    if kind in (ROW_HEADER, *CELLS)
    else _SHORT
    if kind in SHORT_CELLS
    else _SKIP
    for kind in range(64)
)
_BUNDLE_SHEET = 156  # BrtBundleSh in workbook.bin: a sheet's name and part
_MERGE_CELL = 176  # BrtMergeCell: rwFirst, rwLast, colFirst, colLast
# BrtBeginMergeCells (type 177 in two bytes, size 4, a count) and a first
# BrtMergeCell (176, size 16), as written: a sheet without them has no
# merges, told by a search of its bytes instead of a walk of its records.
_BEGIN_MERGES = re.compile(rb"\xb1\x01\x04[\x00-\xff]{4}\xb0\x01\x10")
_WORKSHEETS = "xl/worksheets/"
_WORKBOOK_RELATIONSHIPS = "xl/_rels/workbook.bin.rels"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_WORKSHEET_TYPE = "/relationships/worksheet"


class Extent(NamedTuple):
    """The largest box any sheet's cells span, and whether any cell is in a
    compact record (which calamine skips)."""

    rows: int
    columns: int
    compact: bool


def xlsb_cell_extent(archive: zipfile.ZipFile) -> Extent:
    """The rows x columns of the largest box any sheet's cells span.

    Raises:
        ImportFileError: `corrupt_file` when a worksheet part cannot be read.
    """
    height = width = 0
    compact = False
    sheets = worksheet_parts(archive)
    for entry in archive.infolist():
        if entry.filename.lower() not in sheets:
            continue
        with _damaged_part(entry.filename), archive.open(entry) as part:
            rows, columns, short = _part_extent(part)
        height, width = max(height, rows), max(width, columns)
        compact = compact or short
    return Extent(height, width, compact)


def xlsb_merges(archive: zipfile.ZipFile, sheet: str, limit: int) -> list[Merge]:
    """The merged ranges of the worksheet named `sheet`.

    Raises:
        ImportFileError: `too_many_merges` past `limit`, `corrupt_file` when
            the part cannot be read.
    """
    part = _sheet_parts(archive).get(sheet)
    entry = next((e for e in archive.infolist() if e.filename.lower() == part), None)
    if entry is None:
        return []
    merges = MergeList(limit)
    with _damaged_part(entry.filename):
        with archive.open(entry) as stream:
            if not _holds(stream, _BEGIN_MERGES):
                return merges
        with archive.open(entry) as stream:
            _part_extent(stream, merges)
    return merges


def worksheet_parts(archive: zipfile.ZipFile) -> set[str]:
    """The parts the workbook's relationships name as worksheets (what
    calamine loads), lower-cased, not the other parts beside them (binary
    indexes); without readable relationships, every .bin part under
    xl/worksheets/."""
    targets = _worksheet_targets(archive)
    if targets is None:
        names = (name.lower() for name in archive.namelist())
        return {n for n in names if n.startswith(_WORKSHEETS) and n.endswith(".bin")}
    return set(targets.values())


def _worksheet_targets(archive: zipfile.ZipFile) -> dict[str, str] | None:
    """Relationship ID -> worksheet part (lower-cased), None if unreadable."""
    try:
        with archive.open(_WORKBOOK_RELATIONSHIPS) as part:
            root = DefusedElementTree.parse(part, forbid_dtd=True).getroot()
    except (
        KeyError,
        DefusedElementTree.ParseError,
        DefusedXmlException,
        *ZIP_READ_ERRORS,
    ):
        return None
    parts = {}
    for relationship in root.iter(f"{_RELATIONSHIP}Relationship"):
        target = relationship.get("Target", "")
        if target and relationship.get("Type", "").endswith(_WORKSHEET_TYPE):
            # Relative to xl/, or from the package's root.
            path = target[1:] if target.startswith("/") else f"xl/{target}"
            parts[relationship.get("Id", "")] = posixpath.normpath(path).lower()
    return parts


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> worksheet part, from workbook.bin's BrtBundleSh records
    (hsState, iTabID, then the relationship ID and the name as XLWideStrings:
    a UTF-16 character count and the characters)."""
    targets = _worksheet_targets(archive) or {}
    try:
        book = archive.read("xl/workbook.bin")
    except (KeyError, *ZIP_READ_ERRORS):
        return {}
    parts = {}
    for kind, _, data in records(io.BytesIO(book)):
        if kind != _BUNDLE_SHEET:
            continue
        relationship, at = _wide_string(data, 8)
        name, _ = _wide_string(data, at)
        if relationship in targets and name:
            parts[name] = targets[relationship]
    return parts


def _wide_string(data: bytes, at: int) -> tuple[str, int]:
    if at + 4 > len(data):
        return "", len(data)
    (count,) = struct.unpack_from("<I", data, at)
    if count == 0xFFFFFFFF:  # a nullable string's null
        return "", at + 4
    end = min(at + 4 + 2 * count, len(data))
    return data[at + 4 : end].decode("utf-16-le", "replace"), end


def records(part: BinaryIO) -> Iterator[tuple[int, bytes, bytes]]:
    """(type, the record's bytes, its data) of each record of a part; a
    record cut short at the part's end comes as type -1, its bytes as they
    are."""
    buffer = b""
    while True:
        chunk = part.read(_READ_BYTES)
        buffer += chunk
        at = 0
        while (header := record_header(buffer, at)) is not None:
            kind, start, size = header
            if start + size > len(buffer):
                break
            yield kind, buffer[at : start + size], buffer[start : start + size]
            at = start + size
        buffer = buffer[at:]
        if not chunk:
            if buffer:
                yield -1, buffer, b""
            return


def _holds(stream: BinaryIO, marker: re.Pattern[bytes]) -> bool:
    carried = b""
    while chunk := stream.read(_READ_BYTES):
        if marker.search(carried + chunk):
            return True
        carried = chunk[-16:]  # a match may straddle two reads
    return False


@contextmanager
def _damaged_part(name: str) -> Iterator[None]:
    """Read errors of the part `name` as `corrupt_file`."""
    try:
        yield
    except ZIP_READ_ERRORS as exc:
        raise ImportFileError(
            "corrupt_file", messages.DAMAGED_PART, part=name, detail=str(exc)
        ) from exc


def _part_extent(
    part: BinaryIO, merges: MergeList | None = None
) -> tuple[int, int, bool]:
    """The box a worksheet part's cells span, whether it has compact cells,
    and (into `merges`, if given) its merged ranges."""
    # One loop over the bytes with the common case inline (type and size of
    # one byte each: every cell and row record of a sheet), ~1 µs a record.
    height = width = row = 0
    column = -1  # the last cell's, for a compact one (its column not given)
    compact = False
    buffer = b""
    skip = 0  # bytes of the last record's data beyond the buffer
    while chunk := part.read(_READ_BYTES):
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        buffer += chunk[skip:]
        skip = at = 0
        end = len(buffer)
        while at + 2 <= end:
            kind = buffer[at]
            size = buffer[at + 1]
            start = at + 2
            if (kind | size) & 0x80:
                header = record_header(buffer, at)
                if header is None:
                    break
                kind, start, size = header
                if kind == _MERGE_CELL and merges is not None and size >= 16:
                    if start + 16 > end:
                        break  # the range is in the next read
                    first, last, left, right = struct.unpack_from("<4I", buffer, start)
                    if first <= last and left <= right:
                        merges.add(Merge(first + 1, last + 1, left, right))
            if size >= 4 and kind < 64 and (what := _KINDS[kind]):
                if what == _SHORT:
                    compact = True
                    column += 1
                    index = column
                else:
                    if start + 4 > end:
                        break  # the index is in the next read
                    index = (
                        buffer[start]
                        | buffer[start + 1] << 8
                        | buffer[start + 2] << 16
                        | buffer[start + 3] << 24
                    )
                if kind == ROW_HEADER:
                    row, column = index, -1
                else:
                    column = index
                    if row >= height:
                        height = row + 1
                    if index >= width:
                        width = index + 1
            at = start + size
            if at > end:
                skip, at = at - end, end
                break
        buffer = buffer[at:]
    return height, width, compact


def record_header(buffer: bytes, at: int) -> tuple[int, int, int] | None:
    """The type, data offset and size of the record at `at`, or None when
    the buffer ends inside its header."""
    end = len(buffer)
    values = []
    for width in (2, 4):  # the type takes at most 2 bytes, the size 4
        value = shift = 0
        for _ in range(width):
            if at >= end:
                return None
            byte = buffer[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        values.append(value)
    return values[0], at, values[1]
