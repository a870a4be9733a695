from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from mdm.importing import ImportFileError, JsonRecord, RowError, open_table
from mdm.importing.headers import propose_mapping
from mdm.importing.safety import Limits
from tests.importing import files

TITLED_XLSX = files.xlsx(
    [files.HEADERS, *files.CUSTOMERS], title="2019年客户名单", merge_title=True
)


def test_it_streams_an_xlsx_with_physical_row_numbers_and_typed_cells() -> None:
    table = open_table(TITLED_XLSX)
    assert (table.format, table.sheet_names, table.sheet) == ("xlsx", ["客户"], "客户")
    rows = list(table.rows())
    assert [row.number for row in rows] == [1, 3, 4, 5]
    assert rows[0].cells == ["2019年客户名单"]
    assert rows[2].cells == [
        "C001",
        "北京华盛科技有限公司",
        13800138000,
        "a@hs.cn",
        datetime(2021, 3, 5),
    ]


def test_a_header_only_sheet_gives_a_mapping_and_no_data_rows() -> None:
    rows = list(open_table(files.xlsx([files.HEADERS])).rows())
    mapping = propose_mapping(rows)
    assert mapping.header_row == 1
    assert [row for row in rows if row.number > mapping.header_row] == []


def test_an_empty_sheet_gives_no_rows() -> None:
    assert list(open_table(files.xlsx([])).rows()) == []
    assert list(open_table(files.xls([])).rows()) == []


def test_a_csv_of_carriage_returns_reads_line_by_line() -> None:
    # Excel for the Mac wrote "CSV" with CR line ends until 2016.
    text = files.csv_text([files.HEADERS, *files.CUSTOMERS]).replace("\r\n", "\r")
    table = open_table(text.encode("gbk"))
    rows = list(table.rows())
    assert [row.number for row in rows] == [1, 2, 3]
    assert rows[1].cells[:3] == ["C001", "北京华盛科技有限公司", "13800138000"]
    assert table.size_hint() == 3


def test_a_crlf_csv_with_a_carriage_return_in_a_quoted_cell_keeps_it() -> None:
    text = '客户编号,备注\r\nC001,"第一行\r第二行"\r\n'
    rows = list(open_table(text.encode()).rows())
    assert rows[1].cells == ["C001", "第一行\r第二行"]


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_excels_separator_hint_names_the_delimiter_and_is_not_a_row(
    delimiter: str,
) -> None:
    text = f"sep={delimiter}\r\n" + files.csv_text(
        [files.HEADERS, *files.CUSTOMERS], delimiter
    )
    table = open_table(text.encode())
    rows = list(table.rows())
    assert table.delimiter == delimiter
    assert [row.number for row in rows] == [2, 3, 4]
    assert rows[0].cells == files.HEADERS


@pytest.mark.parametrize("constant_memory", [False, True])  # shared / inline strings
@pytest.mark.parametrize("load_whole", [False, True])  # openpyxl / calamine
def test_it_reads_what_xlsxwriter_writes(
    tmp_path: Path, constant_memory: bool, load_whole: bool
) -> None:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "customers.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory})
    sheet = book.add_worksheet("客户")
    sheet.merge_range(0, 0, 0, 4, "2019年客户名单")
    sheet.write_row(2, 0, files.HEADERS)
    day = book.add_format({"num_format": "yyyy/m/d"})
    for number, (*cells, entered) in enumerate(files.CUSTOMERS, start=3):
        sheet.write_row(number, 0, cells)
        sheet.write_datetime(number, 4, datetime(*entered.timetuple()[:3]), day)
    book.close()
    rows = list(open_table(path, load_whole=load_whole).rows())
    assert [row.number for row in rows] == [1, 3, 4, 5]
    assert rows[0].cells == ["2019年客户名单"]
    assert rows[2].cells == [*files.CUSTOMERS[0][:4], datetime(2021, 3, 5)]


def test_it_reads_xls_keeping_numbers_and_dates() -> None:
    table = open_table(files.xls([files.HEADERS, *files.CUSTOMERS]))
    assert table.format == "xls"
    rows = list(table.rows())
    assert rows[0].cells == files.HEADERS
    assert rows[1].cells[2] == 13800138000
    assert rows[1].cells[4] in (date(2021, 3, 5), datetime(2021, 3, 5))


def test_xls_rows_keep_their_position_when_data_starts_lower_right() -> None:
    table = open_table(
        files.xls([[], [], [None, "名称", None, "电话"], [None, "华盛"]])
    )
    rows = list(table.rows())
    assert [(row.number, row.cells) for row in rows] == [
        (3, [None, "名称", None, "电话"]),
        (4, [None, "华盛"]),
    ]


@pytest.mark.parametrize("load_whole", [False, True])
def test_it_reads_xlsb_from_its_first_visible_sheet(load_whole: bool) -> None:
    content = files.xlsb(
        [files.HEADERS, *files.CUSTOMERS, [], [None, "华盛", None, "010-1"]],
        hidden_first=[["本表由财务导出"]],
    )
    with open_table(content, load_whole=load_whole) as table:
        assert (table.format, table.sheet_names, table.sheet) == (
            "xlsb",
            ["说明", "客户"],
            "客户",
        )
        assert table.hidden_sheets == ["说明"]
        rows = list(table.rows())
    assert [row.number for row in rows] == [1, 2, 3, 5]
    assert rows[0].cells == files.HEADERS
    assert rows[1].cells[:4] == files.CUSTOMERS[0][:4]  # 13800138000 whole
    assert rows[1].cells[4] in (date(2021, 3, 5), datetime(2021, 3, 5))
    assert rows[3].cells == [None, "华盛", None, "010-1"]


def test_it_reads_ods() -> None:
    table = open_table(files.ods([["名称", "电话"], ["华盛", 13800138000]]))
    assert table.format == "ods"
    assert [row.cells for row in table.rows()] == [
        ["名称", "电话"],
        ["华盛", 13800138000],
    ]


# Streamed (openpyxl) and loaded whole (python-calamine).
@pytest.mark.parametrize("load_whole", [False, True])
def test_it_picks_the_first_visible_sheet_by_default(load_whole: bool) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "下拉选项"
    workbook.active.sheet_state = "hidden"
    workbook.active.append(["A级", "B级"])
    workbook.create_sheet("客户").append(["客户名称", "电话"])
    workbook.create_sheet("旧客户").sheet_state = "veryHidden"
    buffer = io.BytesIO()
    workbook.save(buffer)
    content = buffer.getvalue()

    table = open_table(content, load_whole=load_whole)
    assert (table.sheet_names, table.sheet) == (["下拉选项", "客户", "旧客户"], "客户")
    assert table.hidden_sheets == ["下拉选项", "旧客户"]
    assert open_table(content, sheet=0).sheet == "下拉选项"
    assert open_table(content, sheet="下拉选项").sheet == "下拉选项"
    with pytest.raises(ImportFileError) as caught:
        open_table(content, sheet="Sheet9")
    assert caught.value.code == "sheet_not_found"
    assert "下拉选项, 客户, 旧客户" in caught.value.message


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_it_sniffs_the_csv_delimiter(delimiter: str) -> None:
    rows = [["客户名称", "电话", "地址"], ["华盛", "138", "北京, 朝阳"]]
    text = (
        files.csv_text(rows, delimiter)
        if delimiter != ","
        else ('客户名称,电话,地址\r\n华盛,138,"北京, 朝阳"\r\n')
    )
    table = open_table(text.encode())
    assert table.delimiter == delimiter
    assert [row.cells for row in table.rows()] == rows


def test_csv_rows_count_records_and_skip_blank_lines() -> None:
    text = '名称,备注\n\n华盛,"两行\n备注"\n东方,\n'
    rows = list(open_table(text.encode()).rows())
    assert [(row.number, row.cells) for row in rows] == [
        (1, ["名称", "备注"]),
        (3, ["华盛", "两行\n备注"]),
        (4, ["东方"]),
    ]


def test_a_single_column_csv_is_read_with_commas() -> None:
    table = open_table("客户名称\n华盛\n东方\n".encode())
    assert table.delimiter == ","
    assert [row.cells for row in table.rows()] == [["客户名称"], ["华盛"], ["东方"]]


def test_json_lines_report_bad_lines_and_carry_on() -> None:
    lines = [
        json.dumps({"客户名称": "华盛", "电话": "138"}, ensure_ascii=False),
        '{"客户名称": "东方", ',
        "",
        "[1, 2]",
        json.dumps({"客户名称": "南方"}, ensure_ascii=False),
    ]
    table = open_table("\n".join(lines).encode())
    assert table.format == "jsonl"
    items = list(table.records())
    assert items[0] == JsonRecord(1, {"客户名称": "华盛", "电话": "138"})
    assert isinstance(items[1], RowError)
    assert (items[1].row, items[1].code) == (2, "malformed_json")
    assert (items[2].row, items[2].code) == (4, "not_an_object")
    assert items[3] == JsonRecord(5, {"客户名称": "南方"})
    with pytest.raises(TypeError):
        table.rows()


def test_spreadsheets_have_no_records() -> None:
    with pytest.raises(TypeError):
        open_table(TITLED_XLSX).records()


def test_a_damaged_sheet_inside_a_sound_zip_is_refused_clearly() -> None:
    damaged = files.replace_part(
        TITLED_XLSX, "xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row>"
    )
    with pytest.raises(ImportFileError) as caught:
        list(open_table(damaged).rows())
    assert caught.value.code == "corrupt_file"


@pytest.fixture(scope="module")
def libreoffice_copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("libreoffice")
    return {
        target: files.libreoffice_copy(TITLED_XLSX, target, folder)
        for target in ("ods", "xls", "html")
    }


@pytest.mark.parametrize("target", ["ods", "xls"])
def test_it_reads_what_libreoffice_writes(
    libreoffice_copies: dict[str, bytes], target: str
) -> None:
    rows = list(open_table(libreoffice_copies[target]).rows())
    assert [row.number for row in rows] == [1, 3, 4, 5]
    assert rows[1].cells == files.HEADERS
    assert rows[2].cells[:3] == ["C001", "北京华盛科技有限公司", 13800138000]
    assert rows[2].cells[4] in (date(2021, 3, 5), datetime(2021, 3, 5))


def test_it_reads_the_web_page_libreoffice_saves_a_sheet_as(
    libreoffice_copies: dict[str, bytes],
) -> None:
    table = open_table(libreoffice_copies["html"])
    assert table.format == "html"
    rows = list(table.rows())
    assert [row.number for row in rows] == [1, 3, 4, 5]
    assert rows[0].cells == ["2019年客户名单"]
    assert rows[1].cells == files.HEADERS
    # A web page holds text: the cells as the sheet displays them.
    assert rows[2].cells[:3] == ["C001", "北京华盛科技有限公司", "13800138000"]


# Streamed (openpyxl, which finds no sheet in Strict names) and loaded whole.
@pytest.mark.parametrize("load_whole", [False, True])
def test_it_reads_a_strict_open_xml_workbook_as_the_transitional_one(
    load_whole: bool,
) -> None:
    book = openpyxl.load_workbook(
        io.BytesIO(files.xlsx(files.CUSTOMERS, title="客户名单", merge_title=True))
    )
    book.create_sheet("下拉选项").sheet_state = "hidden"
    buffer = io.BytesIO()
    book.save(buffer)
    transitional = buffer.getvalue()
    strict = files.strict_ooxml(transitional)
    with zipfile.ZipFile(io.BytesIO(strict)) as archive:
        assert b'conformance="strict"' in archive.read("xl/workbook.xml")
    with open_table(strict, load_whole=load_whole) as table:
        rows = [row.cells for row in table.rows()]
        assert (table.sheet_names, table.hidden_sheets) == (
            ["客户", "下拉选项"],
            ["下拉选项"],
        )
        assert table.merges()
    with open_table(transitional, load_whole=True) as table:
        assert rows == [row.cells for row in table.rows()]


def test_a_strict_open_xml_workbook_too_big_to_load_whole_is_refused() -> None:
    strict = files.strict_ooxml(files.xlsx(files.CUSTOMERS))
    with pytest.raises(ImportFileError) as caught:
        open_table(strict, limits=Limits(max_fast_xlsx_cells=4))
    assert caught.value.code == "strict_too_big"
    assert "ordinary Excel Workbook" in caught.value.message


def test_a_csv_ending_in_a_dos_end_of_file_mark_has_no_row_for_it() -> None:
    text = "客户名称,手机\r\n北京华盛科技有限公司,13800000001\r\n"
    rows = [row.cells for row in open_table((text + "\x1a").encode("gbk")).rows()]
    assert rows == [["客户名称", "手机"], ["北京华盛科技有限公司", "13800000001"]]
