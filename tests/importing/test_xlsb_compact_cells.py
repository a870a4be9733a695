"""An .xlsb whose cells are in compact records (SheetJS, Aspose.Cells) is
read whole, and an .xlsb's merged ranges are read."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from mdm.importing import ImportFileError
from mdm.importing.merged_cells import Merge
from mdm.importing.readers import open_table
from mdm.importing.safety import Limits
from mdm.importing.xlsb_cells import records, xlsb_cell_extent, xlsb_merges
from tests.importing import files
from tests.importing.test_xlsb_cells import BMP_TEXT

SHEETJS = files.FIXTURE_FILES / "sheetjs_contacts.xlsb"
ROW_HEADER, BEGIN_MERGES, MERGE_CELL, END_MERGES, END_SHEET_DATA = 0, 177, 176, 178, 146


def rows_of(content: bytes, sheet=None) -> list[tuple[int, list[object]]]:
    with open_table(content, sheet=sheet) as table:
        return [(row.number, row.cells) for row in table.rows()]


def compacted(content: bytes) -> bytes:
    """`content` with each cell that follows the row's cell before it
    rewritten in compact form (its type - 1 + 12, its column left out), as
    SheetJS and Aspose.Cells write them."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        part = archive.read("xl/worksheets/sheet1.bin")
    out, column = [], -1
    for kind, raw, data in records(io.BytesIO(part)):
        if kind == ROW_HEADER:
            column = -1
        elif 1 <= kind <= 7 and len(data) >= 8:
            (own,) = struct.unpack_from("<I", data)
            if own == column + 1:
                raw = files.xlsb_record(kind + 11, data[4:])
            column = own
        out.append(raw)
    return files.replace_part(content, "xl/worksheets/sheet1.bin", b"".join(out))


def test_a_sheetjs_workbook_is_read_whole_with_its_merges():
    content = SHEETJS.read_bytes()
    # calamine alone loses the compact cells: most of the names.
    loaded = CalamineWorkbook.from_filelike(io.BytesIO(content))
    assert "北京华盛科技有限公司" not in str(
        loaded.get_sheet_by_name("联系人").to_python()
    )
    assert xlsb_cell_extent(zipfile.ZipFile(io.BytesIO(content))).compact
    with open_table(content, sheet="联系人") as table:
        rows = [row.cells for row in table.rows()]
        merges = table.merges()
    assert rows[2] == [
        "C1",
        "北京华盛科技有限公司",
        "王伟",
        "总经理",
        "13800138000",
        "wang@hs.cn",
    ]
    assert rows[4] == [None, None, "赵敏", None, "13700137000", "zhao@hs.cn"]
    assert rows[5][:2] == ["C2", "上海东方贸易有限公司"]
    assert merges == [Merge(3, 5, 0, 0), Merge(3, 5, 1, 1)]
    # Each sheet its own merges.
    with open_table(content, sheet="说明") as table:
        assert table.merges() == [Merge(1, 2, 0, 0)]


CELL = (
    st.none()
    | st.integers(-(2**31), 2**31)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | BMP_TEXT
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(CELL, min_size=1, max_size=6), min_size=1, max_size=10))
def test_compact_cells_read_as_their_full_records_do(rows):
    content = files.xlsb(rows)
    compact = compacted(content)
    assert rows_of(compact) == rows_of(content)


def test_a_workbook_without_compact_cells_is_read_as_it_is():
    content = files.xlsb([["客户名称"], ["北京华盛科技有限公司"]])
    assert not xlsb_cell_extent(zipfile.ZipFile(io.BytesIO(content))).compact
    assert rows_of(content) == [(1, ["客户名称"]), (2, ["北京华盛科技有限公司"])]


def with_merges(content: bytes, ranges: list[tuple[int, int, int, int]]) -> bytes:
    """`content` with merged ranges (rwFirst, rwLast, colFirst, colLast,
    0-based) written after its sheet data, as Excel places them."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        part = archive.read("xl/worksheets/sheet1.bin")
    block = files.xlsb_record(BEGIN_MERGES, struct.pack("<I", len(ranges)))
    for merged in ranges:
        block += files.xlsb_record(MERGE_CELL, struct.pack("<4I", *merged))
    block += files.xlsb_record(END_MERGES, b"")
    end = files.xlsb_record(END_SHEET_DATA, b"")
    assert part.count(end) == 1
    return files.replace_part(
        content, "xl/worksheets/sheet1.bin", part.replace(end, end + block)
    )


def test_merges_written_into_a_workbook_are_read_and_capped():
    content = with_merges(
        files.xlsb([["a"], ["b"], ["c"]]), [(0, 2, 0, 0), (1, 1, 3, 5)]
    )
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert xlsb_merges(archive, "客户", 10) == [Merge(1, 3, 0, 0), Merge(2, 2, 3, 5)]
    assert xlsb_merges(archive, "no such sheet", 10) == []
    with pytest.raises(ImportFileError) as refused:
        xlsb_merges(archive, "客户", 1)
    assert refused.value.code == "too_many_merges"
    # Through the reader: the cap is the row cap (IMPORT_MAX_ROWS).
    one_row = with_merges(files.xlsb([["a"]]), [(0, 0, 0, 1), (0, 0, 2, 3)])
    with open_table(one_row, limits=Limits(max_rows=1)) as table:
        with pytest.raises(ImportFileError, match="merged cell ranges"):
            table.merges()


def test_a_compact_cell_far_out_counts_in_the_bounded_box():
    # A row of one full cell then compact ones: the box reaches the last.
    content = compacted(files.xlsb([["a", "b", "c", "d"]]))
    extent = xlsb_cell_extent(zipfile.ZipFile(io.BytesIO(content)))
    assert (extent.rows, extent.columns, extent.compact) == (1, 4, True)
