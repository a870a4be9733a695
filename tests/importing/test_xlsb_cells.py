"""The walk that bounds an .xlsb's cells before calamine loads a sheet."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from mdm.importing import xlsb_cells
from mdm.importing.xlsb_cells import xlsb_cell_extent
from tests.importing import files

ROW, CELL_ISST, CELL_REAL = 0, 7, 5
# Records the walk must step over: BrtBeginSheet (129, a two-byte type),
# BrtWsDim (148, which may lie), and others of any size.
OTHER_KINDS = st.sampled_from([129, 148, 37, 38, 60, 0x3FF])


def cell(column: int) -> bytes:
    return files.xlsb_record(CELL_ISST, struct.pack("<III", column, 0, 0))


def row(index: int) -> bytes:
    return files.xlsb_record(ROW, struct.pack("<I", index) + bytes(13))


@st.composite
def sheets(draw) -> tuple[bytes, tuple[int, int]]:
    """Records of a sheet, other records between them, and the box its
    cells span as calamine would load it."""
    parts, height, width = [], 0, 0
    for index in sorted(draw(st.sets(st.integers(0, 2**20 - 1), max_size=8))):
        parts.append(row(index))
        for column in draw(st.lists(st.integers(0, 2**14 - 1), max_size=4)):
            parts.append(cell(column))
            height, width = max(height, index + 1), max(width, column + 1)
        if draw(st.booleans()):
            size = draw(st.integers(0, 300))  # sizes of one and two bytes
            parts.append(files.xlsb_record(draw(OTHER_KINDS), bytes(size)))
    return b"".join(parts), (height, width)


@settings(max_examples=200)
@given(sheet=sheets(), read_bytes=st.sampled_from([1, 3, 7, 64, 1 << 20]))
def test_the_walk_finds_the_box_of_any_sheets_cells(sheet, read_bytes) -> None:
    records, box = sheet
    # Reads of a few bytes put every record across a read's end somewhere.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(xlsb_cells, "_READ_BYTES", read_bytes)
        archive = zipfile.ZipFile(io.BytesIO(files.xlsb_with_sheet(records)))
        assert xlsb_cell_extent(archive)[:2] == box


# pyxlsbwriter counts a string's length in code points, not UTF-16 units (a
# character past U+FFFF makes a file calamine cannot open), and wants a
# cell in every row.
BMP_TEXT = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.lists(
            st.none() | st.integers(-(2**31), 2**31) | BMP_TEXT,
            min_size=1,
            max_size=6,
        ),
        min_size=1,
        max_size=12,
    )
)
def test_the_walk_agrees_with_calamine_on_written_workbooks(rows) -> None:
    content = files.xlsb(rows)
    loaded = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0)
    height, width, _ = xlsb_cell_extent(zipfile.ZipFile(io.BytesIO(content)))
    if loaded.end is None:
        return  # nothing but empty cells: calamine loads nothing
    assert height >= loaded.end[0] + 1 and width >= loaded.end[1] + 1


FAR_CELL = row(1_048_575) + cell(16_383)


def test_only_the_parts_the_workbook_names_as_worksheets_are_walked() -> None:
    # A binary index beside the sheet is no sheet, whatever its records say.
    content = files.replace_part(
        files.xlsb([["a"]]), "xl/worksheets/binaryIndex1.bin", FAR_CELL
    )
    assert xlsb_cell_extent(zipfile.ZipFile(io.BytesIO(content)))[:2] == (1, 1)
    # A worksheet the relationships place elsewhere is walked there.
    book = files.xlsb([["a"]])
    relationships = zipfile.ZipFile(io.BytesIO(book)).read("xl/_rels/workbook.bin.rels")
    moved = files.replace_part(
        files.replace_part(
            book,
            "xl/_rels/workbook.bin.rels",
            relationships.replace(b"worksheets/sheet1.bin", b"/xl/elsewhere.bin"),
        ),
        "xl/worksheets/sheet1.bin",
        b"",
    )
    buffer = io.BytesIO(moved)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("xl/elsewhere.bin", FAR_CELL)
    assert xlsb_cell_extent(zipfile.ZipFile(buffer))[:2] == (2**20, 2**14)
