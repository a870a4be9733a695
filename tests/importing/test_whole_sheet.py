"""The fast .xlsx path: python-calamine, loaded whole only when bounded."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from mdm.importing import ImportFileError, Limits, open_table, readers, safety
from tests.importing import files, test_safety
from tests.importing.test_readers import TITLED_XLSX

XLSX = files.xlsx([files.HEADERS, *files.CUSTOMERS])
SHEET = "xl/worksheets/sheet1.xml"


def cells(content: bytes, **options) -> list[tuple[int, list[object]]]:
    with open_table(content, **options) as table:
        return [(row.number, row.cells) for row in table.rows()]


def extent(content: bytes) -> tuple[int, int] | None:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return safety.xlsx_cell_extent(archive)


def with_sheet(xml: str) -> bytes:
    return files.replace_part(XLSX, SHEET, xml.encode())


@pytest.fixture
def no_calamine(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the sheet was loaded whole")

    monkeypatch.setattr(readers, "_load_sheet", refuse)


@pytest.mark.parametrize(
    "content",
    [TITLED_XLSX, XLSX, files.xlsx([]), files.xlsx([files.HEADERS])],
    ids=["titled", "plain", "empty", "header-only"],
)
def test_a_sheet_loaded_whole_reads_exactly_as_when_streamed(content: bytes) -> None:
    assert cells(content, load_whole=True) == cells(content)


def test_whole_numbers_and_dates_come_out_as_openpyxl_gives_them() -> None:
    row = cells(TITLED_XLSX, load_whole=True)[2][1]
    assert [type(value).__name__ for value in row] == [
        "str",
        "str",
        "int",
        "str",
        "datetime",
    ]


def test_the_loaded_sheet_is_read_once_for_several_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loads = []
    real = readers._load_sheet
    monkeypatch.setattr(
        readers, "_load_sheet", lambda *args: loads.append(1) or real(*args)
    )
    with open_table(XLSX, load_whole=True) as table:
        first, second = list(table.rows()), list(table.rows())
        assert table.size_hint() == 3
    assert (first, len(loads)) == (second, 1)


def written_only(rows: list[list[object]]) -> bytes:
    """An .xlsx as openpyxl's write-only mode (our exports) writes it: no
    <dimension>."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("客户")
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_preview_of_a_sheet_without_dimension_is_not_parsed_whole_by_openpyxl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    content = written_only([files.HEADERS, *files.CUSTOMERS])
    assert "<dimension" not in files.sheet_xml(content)
    with readers._open_xlsx(content, None, Limits()) as table:
        streamed = [(row.number, row.cells) for row in table.rows()]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("opened by openpyxl")

    monkeypatch.setattr(readers.openpyxl, "load_workbook", refuse)
    assert cells(content) == streamed
    # A sheet over the cap is still streamed, whatever it costs to open.
    monkeypatch.undo()
    monkeypatch.setattr(readers, "_load_sheet", refuse)
    assert cells(content, limits=Limits(max_fast_xlsx_cells=4)) == streamed


def test_a_preview_of_a_sheet_with_dimension_streams_its_first_rows(
    no_calamine: None,
) -> None:
    with open_table(XLSX) as table:
        assert next(table.rows()).cells[:2] == files.HEADERS[:2]


def test_the_extent_comes_from_cell_references_not_the_declared_dimension() -> None:
    forged = files.sheet_xml(XLSX).replace('ref="A1:E3"', 'ref="A1:XFD1048576"')
    assert extent(with_sheet(forged)) == (3, 5)


def test_a_cell_out_of_order_still_counts() -> None:
    xml = files.sheet_xml(XLSX).replace(
        "</row>", '<c r="AB900" t="inlineStr"><is><t>x</t></is></c></row>', 1
    )
    assert extent(with_sheet(xml)) == (900, 28)


@pytest.mark.parametrize(
    "cell",
    ['<c t="inlineStr"><is><t>x</t></is></c>', '<c\nr="F1"><v>1</v></c>'],
    ids=["no-reference", "odd-spacing"],
)
def test_a_cell_without_a_plain_reference_gives_no_extent(cell: str) -> None:
    xml = files.sheet_xml(XLSX).replace("</row>", cell + "</row>", 1)
    assert extent(with_sheet(xml)) is None


def test_a_sheet_with_unreferenced_cells_is_streamed(no_calamine: None) -> None:
    xml = files.sheet_xml(XLSX).replace(
        "</row>", '<c t="inlineStr"><is><t>备注</t></is></c></row>', 1
    )
    rows = cells(with_sheet(xml), load_whole=True)
    assert rows[0][1] == [*files.HEADERS, "备注"]


def test_a_sheet_over_the_cell_cap_is_streamed_not_refused(no_calamine: None) -> None:
    limits = Limits(max_fast_xlsx_cells=14)
    assert cells(XLSX, load_whole=True, limits=limits) == cells(XLSX)


def test_a_stray_cell_far_away_is_refused_without_loading_anything(
    no_calamine: None,
) -> None:
    xml = files.sheet_xml(XLSX).replace(
        "</row>", '<c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>', 1
    )
    with pytest.raises(ImportFileError) as caught:
        cells(with_sheet(xml), load_whole=True)
    assert caught.value.code == "too_many_columns"


BOMB_PROBE = """
import resource
from mdm.importing import ImportFileError, Limits, open_table
from tests.importing import files, test_safety
from tests.importing.test_whole_sheet import XLSX, with_sheet
xml = files.sheet_xml(XLSX).replace(
    "</sheetData>",
    '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    "</sheetData>",
)
limits = Limits(max_rows=2_000_000, max_columns=20_000, max_fast_xlsx_cells=10**12)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open_table(with_sheet(xml), load_whole=True, limits=limits) as table:
        next(table.rows())
except ImportFileError:
    pass
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_two_cell_sheet_spanning_the_grid_does_not_reach_calamine() -> None:
    # Loaded whole, A1 + XFD1048576 would ask calamine for 17 billion cells
    # and abort the process; even with the row, column and fast-reader caps
    # lifted, the cell cap sends it to the streaming reader instead.
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", BOMB_PROBE],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.strip()) < 100


def test_text_files_hint_their_size_by_lines() -> None:
    content = files.csv_text([files.HEADERS, *files.CUSTOMERS]).encode("utf-16")
    with open_table(content) as table:
        assert table.size_hint() == 3


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: files.zip_with_large_entry(SHEET, 64 * 1024 * 1024), "zip_bomb"),
        (lambda: with_sheet(test_safety.BILLION_LAUGHS), "xml_attack"),
    ],
    ids=["zip-bomb", "billion-laughs"],
)
def test_bombs_are_refused_before_the_fast_reader_too(make, code: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        open_table(make(), load_whole=True)
    assert caught.value.code == code


@pytest.mark.parametrize(
    "content",
    [
        files.xls([files.HEADERS, *files.CUSTOMERS]),
        files.ods([files.HEADERS, ["C001", "北京华盛科技有限公司"]]),
    ],
    ids=["xls", "ods"],
)
def test_xls_and_ods_are_kept_loaded_and_read_as_before(content: bytes) -> None:
    with open_table(content, load_whole=True) as table:
        assert [(r.number, r.cells) for r in table.rows()] == cells(content)
        assert table.size_hint() == len(cells(content))
