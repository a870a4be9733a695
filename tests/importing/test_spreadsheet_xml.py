"""Excel 2003 XML (SpreadsheetML), as Excel and the report tools of its era
save it under an .xls or .xml name."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from mdm.importing import ImportFileError, Limits, open_table
from mdm.importing.headers import propose_mapping
from tests.importing import files

WORKBOOK = files.spreadsheet_xml(
    [files.HEADERS, *files.CUSTOMERS, ["C003", None, 1.5, True]], title="2019年客户名单"
)
HEAD = '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'  # noqa: E501


def test_it_reads_the_first_visible_sheet_with_typed_cells() -> None:
    table = open_table(WORKBOOK)
    assert (table.format, table.sheet_names, table.sheet) == (
        "xml2003",
        ["说明", "客户"],
        "客户",  # 说明 is hidden
    )
    assert table.hidden_sheets == ["说明"]
    rows = list(table.rows())
    assert [row.number for row in rows] == [1, 3, 4, 5, 6]
    assert rows[0].cells == ["2019年客户名单"]
    assert rows[1].cells == files.HEADERS
    assert rows[2].cells == [
        "C001",
        "北京华盛科技有限公司",
        13800138000,  # a Number: never 1.38e10
        "a@hs.cn",
        datetime(2021, 3, 5),
    ]
    assert rows[4].cells == ["C003", None, 1.5, True]
    assert table.size_hint() == 6
    assert propose_mapping(rows).header_row == 3


def test_a_sheet_is_chosen_by_name_or_position() -> None:
    assert [r.cells for r in open_table(WORKBOOK, sheet="说明").rows()] == [
        ["导出说明"]
    ]
    assert open_table(WORKBOOK, sheet=1).sheet == "客户"
    with pytest.raises(ImportFileError) as caught:
        open_table(WORKBOOK, sheet="Sheet9")
    assert caught.value.code == "sheet_not_found"


def test_a_stored_upload_opened_by_sheet_name_is_checked_as_its_rows_are_read():
    # Opening a file that opened before (validated) with the sheet named
    # skips the pass that lists sheets and checks the whole file: its rows
    # check both as they are read.
    table = open_table(WORKBOOK, sheet="客户", validated=True)
    assert [row.number for row in table.rows()] == [1, 3, 4, 5, 6]
    with pytest.raises(ImportFileError) as caught:
        list(open_table(WORKBOOK, sheet="Sheet9", validated=True).rows())
    assert caught.value.code == "sheet_not_found"
    assert caught.value.message.endswith("its sheets are: 说明, 客户.")
    truncated = WORKBOOK[: len(WORKBOOK) - 40]
    with pytest.raises(ImportFileError) as caught:
        open_table(truncated, sheet="客户")  # refused on opening
    assert caught.value.code == "corrupt_file"
    rows = open_table(truncated, sheet="客户", validated=True).rows()
    with pytest.raises(ImportFileError) as caught:
        list(rows)  # only where the file breaks
    assert caught.value.code == "corrupt_file"


def test_indexes_and_merges_place_cells_where_excel_shows_them() -> None:
    page = HEAD + (
        '<Worksheet ss:Name="S"><Table>'
        '<Row><Cell ss:MergeAcross="1" ss:MergeDown="1"><Data ss:Type="String">a'
        '</Data></Cell><Cell><Data ss:Type="String">b</Data></Cell></Row>'
        '<Row><Cell ss:Index="3"><Data ss:Type="String">c</Data></Cell></Row>'
        '<Row ss:Index="5"><Cell><ss:Data ss:Type="String" '
        'xmlns="http://www.w3.org/TR/REC-html40"><B>rich</B> text</ss:Data></Cell>'
        '<Cell><Data ss:Type="DateTime">not a date</Data></Cell></Row>'
        "</Table></Worksheet></Workbook>"
    )
    rows = [(row.number, row.cells) for row in open_table(page.encode()).rows()]
    assert rows == [
        (1, ["a", None, "b"]),
        (2, [None, None, "c"]),
        (5, ["rich text", "not a date"]),  # kept as the file holds it
    ]


def test_a_workbook_in_gbk_declared_in_its_prolog_is_decoded() -> None:
    page = WORKBOOK.decode().replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="GBK"?>'
    )
    rows = list(open_table(page.encode("gbk")).rows())
    assert rows[2].cells[1] == "北京华盛科技有限公司"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>' + HEAD[21:] + "</Workbook>",
            "xml_attack",
        ),
        (WORKBOOK[: len(WORKBOOK) // 2].decode(errors="ignore"), "corrupt_file"),
        (HEAD + "</Workbook>", "no_sheet"),
    ],
    ids=["dtd", "truncated", "no-sheet"],
)
def test_unsafe_damaged_or_empty_workbooks_are_refused(content: str, code: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        list(open_table(content.encode()).rows())
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ('<Row><Cell ss:Index="100000"><Data ss:Type="String">x</Data></Cell></Row>',
         "too_many_columns"),
        ('<Row ss:Index="2000000"><Cell><Data ss:Type="String">x</Data></Cell></Row>',
         "too_many_rows"),
    ],
)  # fmt: skip
def test_an_index_past_the_caps_is_refused_without_padding_to_it(
    row: str, code: str
) -> None:
    page = HEAD + f'<Worksheet ss:Name="S"><Table>{row}</Table></Worksheet></Workbook>'
    with pytest.raises(ImportFileError) as caught:
        list(open_table(page.encode(), limits=Limits(max_rows=1000)).rows())
    assert caught.value.code == code


FLAT_MEMORY_PROBE = """
import resource, sys
from mdm.importing import open_table
head = ('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:'
        'spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'
        '<Worksheet ss:Name="S"><Table>')
row = ('<Row>' + '<Cell><Data ss:Type="String">北京华盛科技有限公司</Data></Cell>' * 5
       + '</Row>')
book = (head + row * int(sys.argv[1]) + '</Table></Worksheet></Workbook>').encode()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = sum(1 for _ in open_table(book).rows())
assert rows == int(sys.argv[1]), rows
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_memory_stays_flat_whatever_the_size_of_the_sheet() -> None:
    # 60,000 rows (~21 MiB): parsed into a tree they would take ~160 MiB.
    result = subprocess.run(
        [sys.executable, "-c", FLAT_MEMORY_PROBE, "60000"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert int(result.stdout) < 40


def test_dates_written_as_excel_writes_them_come_back_as_datetimes() -> None:
    rows = list(open_table(files.spreadsheet_xml([["d"], [date(2020, 1, 2)]])).rows())
    assert rows[1].cells == [datetime(2020, 1, 2)]
