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
import zipfile
from collections.abc import Iterator
from typing import BinaryIO

from mdm.importing.xlsb_cells import (
    CELLS,
    ROW_HEADER,
    SHORT_CELLS,
    SHORT_TO_FULL,
    record_header,
    worksheet_parts,
)

_READ_BYTES = 1024 * 1024


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
    """The part's bytes, compact cells in full form: the records between
    them copied in spans, each record's header read in one inline loop (as
    `xlsb_cells` walks them)."""
    column = -1  # the last cell's
    buffer = b""
    while True:
        chunk = part.read(_READ_BYTES)
        buffer += chunk
        out: list[bytes] = []
        at = span = 0  # span: where the bytes not yet copied start
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
            if start + size > end:
                break  # the record ends in the next read
            if kind in SHORT_CELLS and size >= 4:  # a style and flags at least
                column += 1
                out += (
                    buffer[span:at],
                    _varint(kind - SHORT_TO_FULL) + _varint(size + 4),
                    column.to_bytes(4, "little"),
                    buffer[start : start + size],
                )
                span = start + size
            elif kind == ROW_HEADER:
                column = -1
            elif kind in CELLS and size >= 4:
                column = int.from_bytes(buffer[start : start + 4], "little")
            at = start + size
        out.append(buffer[span:at])
        yield b"".join(out)
        buffer = buffer[at:]
        if not chunk:
            yield buffer  # a record cut short at the part's end, as it is
            return


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        value, byte = value >> 7, value & 0x7F
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)
