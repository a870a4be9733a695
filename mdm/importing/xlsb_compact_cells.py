"""An .xlsb's compact cell records written out in full, for calamine.

Excel 2010's format added compact cell records (BrtShortBlank ..
BrtShortIsst, [MS-XLSB] 2.4) that leave the column out: the cell is one
column past the cell before it in the row. Aspose.Cells writes them by
default, SheetJS too; python-calamine (like pyxlsb) skips them, so most of
such a sheet's cells would be lost without a word. `xlsb_with_full_cells`
copies the workbook with each such record written as its full form
(BrtCellBlank .. BrtCellIsst: the same data after the column), which every
reader reads.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterator
from typing import BinaryIO

from mdm.importing.xlsb_cells import (
    CELLS,
    ROW_HEADER,
    SHORT_CELLS,
    SHORT_TO_FULL,
    records,
    worksheet_parts,
)


def xlsb_with_full_cells(archive: zipfile.ZipFile) -> bytes:
    """The workbook with every compact cell record of its worksheets in
    full; the other parts copied as they are."""
    sheets = worksheet_parts(archive)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as copy:
        for entry in archive.infolist():
            if entry.filename.lower() not in sheets:
                copy.writestr(entry, archive.read(entry))
                continue
            with archive.open(entry) as part, copy.open(entry.filename, "w") as out:
                for chunk in _full_records(part):
                    out.write(chunk)
    return buffer.getvalue()


def _full_records(part: BinaryIO) -> Iterator[bytes]:
    """The part's records as bytes, compact cells in full form."""
    column = -1
    for kind, raw, data in records(part):
        if kind in SHORT_CELLS and len(data) >= 4:  # a style and flags at least
            column += 1
            full = struct.pack("<I", column) + data
            yield _varint(kind - SHORT_TO_FULL) + _varint(len(full)) + full
            continue
        if kind == ROW_HEADER:
            column = -1
        elif kind in CELLS and len(data) >= 4:
            (column,) = struct.unpack_from("<I", data)
        yield raw


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        value, byte = value >> 7, value & 0x7F
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)
