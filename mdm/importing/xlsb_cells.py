"""How far the cells of an Excel binary workbook (.xlsb) reach.

python-calamine loads a sheet whole, as a dense box from its first cell to
its last, so one stray cell at XFD1048576 in a small file would ask for 17
billion cells. Before an .xlsb is opened its worksheet parts (those the
workbook's relationships name, as calamine finds them) are walked record by
record ([MS-XLSB] 2.1.4: a record type and a size, each a
little-endian 7-bit varint, then the data) and the furthest row and column
of any cell found; the declared dimension (BrtWsDim) may lie and is not
read.
"""

from __future__ import annotations

import posixpath
import zipfile
from typing import BinaryIO

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedElementTree

from mdm.importing.errors import ImportFileError
from mdm.importing.safety import ZIP_READ_ERRORS

_READ_BYTES = 1024 * 1024
_ROW_HEADER = 0  # BrtRowHdr: the row index (uint32) of the cells that follow
# BrtCellBlank .. BrtFmlaError and BrtCellRString: each starts with its
# column index (uint32).
_CELLS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 62)
# By record type below 64: 1 for the records that start with a row or
# column index.
_INDEXED = bytes(kind in (_ROW_HEADER, *_CELLS) for kind in range(64))
_WORKSHEETS = "xl/worksheets/"
_WORKBOOK_RELATIONSHIPS = "xl/_rels/workbook.bin.rels"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_WORKSHEET_TYPE = "/relationships/worksheet"


def xlsb_cell_extent(archive: zipfile.ZipFile) -> tuple[int, int]:
    """The rows x columns of the largest box any sheet's cells span.

    Raises:
        ImportFileError: `corrupt_file` when a worksheet part cannot be read.
    """
    height = width = 0
    sheets = _worksheet_parts(archive)
    for entry in archive.infolist():
        if entry.filename.lower() not in sheets:
            continue
        try:
            with archive.open(entry) as part:
                rows, columns = _part_extent(part)
        except ZIP_READ_ERRORS as exc:
            raise ImportFileError(
                "corrupt_file",
                f"The part {entry.filename!r} of the workbook is damaged ({exc}).",
            ) from exc
        height, width = max(height, rows), max(width, columns)
    return height, width


def _worksheet_parts(archive: zipfile.ZipFile) -> set[str]:
    """The parts the workbook's relationships name as worksheets (what
    calamine loads), not the other parts beside them (binary indexes);
    without readable relationships, every .bin part under xl/worksheets/."""
    try:
        with archive.open(_WORKBOOK_RELATIONSHIPS) as part:
            root = DefusedElementTree.parse(part, forbid_dtd=True).getroot()
    except (
        KeyError,
        DefusedElementTree.ParseError,
        DefusedXmlException,
        *ZIP_READ_ERRORS,
    ):
        names = (name.lower() for name in archive.namelist())
        return {n for n in names if n.startswith(_WORKSHEETS) and n.endswith(".bin")}
    parts = set()
    for relationship in root.iter(f"{_RELATIONSHIP}Relationship"):
        target = relationship.get("Target", "")
        if target and relationship.get("Type", "").endswith(_WORKSHEET_TYPE):
            # Relative to xl/, or from the package's root.
            path = target[1:] if target.startswith("/") else f"xl/{target}"
            parts.add(posixpath.normpath(path).lower())
    return parts


def _part_extent(part: BinaryIO) -> tuple[int, int]:
    # One loop over the bytes with the common case inline (type and size of
    # one byte each: every cell and row record of a sheet), ~1 µs a record.
    height = width = row = 0
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
                header = _record_at(buffer, at)
                if header is None:
                    break
                kind, start, size = header
            if size >= 4 and kind < 64 and _INDEXED[kind]:
                if start + 4 > end:
                    break  # the index is in the next read
                index = (
                    buffer[start]
                    | buffer[start + 1] << 8
                    | buffer[start + 2] << 16
                    | buffer[start + 3] << 24
                )
                if kind == _ROW_HEADER:
                    row = index
                else:
                    if row >= height:
                        height = row + 1
                    if index >= width:
                        width = index + 1
            at = start + size
            if at > end:
                skip, at = at - end, end
                break
        buffer = buffer[at:]
    return height, width


def _record_at(buffer: bytes, at: int) -> tuple[int, int, int] | None:
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
