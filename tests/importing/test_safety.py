from __future__ import annotations

import json
import random
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mdm.importing import ImportFileError, Limits, open_table
from tests.importing import files

XLSX = files.xlsx([files.HEADERS, *files.CUSTOMERS])
SHEET = "xl/worksheets/sheet1.xml"

BILLION_LAUGHS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>
</sheetData></worksheet>"""
QUADRATIC = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "'
    + "A" * 50_000
    + '">]><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
    'main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
    + "&a;" * 10_000
    + "</t></is></c></row></sheetData></worksheet>"
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:9/x">]>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row>'
    "</sheetData></worksheet>"
)


def zip_bomb() -> bytes:
    return files.zip_with_large_entry(SHEET, 64 * 1024 * 1024)


def attack_xlsx(part: str, xml: bytes) -> bytes:
    return files.replace_part(XLSX, part, xml)


def ods_zip_bomb() -> bytes:
    return files.zip_of(
        {
            "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
            "content.xml": b" " * (32 * 1024 * 1024),
        },
        level=9,
    )


def forged_201_mib() -> bytes:
    return files.forge_sizes(XLSX, SHEET, 3 * 1024 * 1024, 201 * 1024 * 1024)


@pytest.mark.parametrize(
    "xml",
    [
        BILLION_LAUGHS.encode(),
        QUADRATIC.encode(),
        EXTERNAL.encode(),
        BILLION_LAUGHS.replace("UTF-8", "UTF-16").encode("utf-16"),
    ],
    ids=["billion-laughs", "quadratic", "external-entity", "utf16-billion-laughs"],
)
def test_it_refuses_xml_entity_attacks_in_the_sheet(
    xml: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: object) -> None:
        raise AssertionError("an outbound connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    started = time.perf_counter()
    with pytest.raises(ImportFileError) as caught:
        open_table(attack_xlsx(SHEET, xml))
    assert caught.value.code == "xml_attack"
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize(
    "part", ["[Content_Types].xml", "xl/workbook.xml", "xl/styles.xml"]
)
def test_it_checks_every_xml_part(part: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        open_table(attack_xlsx(part, EXTERNAL.encode()))
    assert caught.value.code == "xml_attack"


def test_it_refuses_a_dtd_in_ods_content() -> None:
    ods = files.ods([["a", "b"]])
    content = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:'
        'xmlns:office:1.0"/>'
    )
    with pytest.raises(ImportFileError) as caught:
        open_table(files.replace_part(ods, "content.xml", content.encode()))
    assert caught.value.code == "xml_attack"


def test_it_refuses_a_zip_bomb_by_ratio_from_the_central_directory() -> None:
    started = time.perf_counter()
    with pytest.raises(ImportFileError) as caught:
        open_table(zip_bomb())
    assert caught.value.code == "zip_bomb"
    assert "expands" in caught.value.message
    assert time.perf_counter() - started < 2


def test_it_refuses_an_ods_bomb_before_calamine_sees_it() -> None:
    with pytest.raises(ImportFileError) as caught:
        open_table(ods_zip_bomb())
    assert caught.value.code == "zip_bomb"


def test_it_refuses_a_workbook_over_the_declared_size_cap() -> None:
    limits = Limits(max_uncompressed_bytes=1024)
    with pytest.raises(ImportFileError) as caught:
        open_table(XLSX, limits=limits)
    assert caught.value.code == "zip_bomb"
    assert "Split it into smaller files" in caught.value.message


def test_it_refuses_a_declared_size_over_200_mib_by_default() -> None:
    started = time.perf_counter()
    with pytest.raises(ImportFileError) as caught:
        open_table(forged_201_mib())
    assert caught.value.code == "zip_bomb"
    assert "201 MiB" in caught.value.message
    assert time.perf_counter() - started < 2


def test_it_refuses_too_many_zip_entries() -> None:
    with pytest.raises(ImportFileError) as caught:
        open_table(XLSX, limits=Limits(max_zip_entries=3))
    assert caught.value.code == "zip_bomb"


def test_it_ignores_a_declared_dimension_of_the_whole_grid() -> None:
    xml = files.sheet_xml(XLSX)
    assert '<dimension ref="A1:E3"' in xml
    forged = xml.replace('ref="A1:E3"', 'ref="A1:XFD1048576"')
    started = time.perf_counter()
    rows = list(open_table(attack_xlsx(SHEET, forged.encode())).rows())
    assert [row.number for row in rows] == [1, 2, 3]
    assert max(len(row.cells) for row in rows) == 5
    assert time.perf_counter() - started < 2


def test_it_refuses_a_stray_cell_far_to_the_right() -> None:
    xml = files.sheet_xml(XLSX).replace(
        "</row>", '<c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>', 1
    )
    with pytest.raises(ImportFileError) as caught:
        list(open_table(attack_xlsx(SHEET, xml.encode())).rows())
    assert caught.value.code == "too_many_columns"


def test_it_stops_at_the_row_cap_even_across_a_gap() -> None:
    xml = files.sheet_xml(XLSX).replace(
        "</sheetData>",
        '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        "</sheetData>",
    )
    started = time.perf_counter()
    with pytest.raises(ImportFileError) as caught:
        list(
            open_table(
                attack_xlsx(SHEET, xml.encode()), limits=Limits(max_rows=1000)
            ).rows()
        )
    assert caught.value.code == "too_many_rows"
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize(
    "content",
    [
        XLSX,
        files.xls([files.HEADERS, *files.CUSTOMERS]),
        files.ods([files.HEADERS, ["C001", "北京华盛科技有限公司"]]),
        files.csv_text([files.HEADERS, *files.CUSTOMERS]).encode(),
        files.html_table([files.HEADERS, *files.CUSTOMERS]),
        files.spreadsheet_xml([files.HEADERS, *files.CUSTOMERS]),
        files.xlsb([files.HEADERS, *files.CUSTOMERS]),
    ],
    ids=["xlsx", "xls", "ods", "csv", "html", "xml2003", "xlsb"],
)
def test_it_enforces_row_and_column_caps_for_every_reader(content: bytes) -> None:
    with pytest.raises(ImportFileError) as caught:
        list(open_table(content, limits=Limits(max_rows=1)).rows())
    assert caught.value.code == "too_many_rows"
    with pytest.raises(ImportFileError) as caught:
        list(open_table(content, limits=Limits(max_columns=2)).rows())
    assert caught.value.code == "too_many_columns"


def test_it_enforces_the_column_cap_for_json_lines() -> None:
    line = json.dumps({f"k{i}": i for i in range(10)})
    with pytest.raises(ImportFileError) as caught:
        list(open_table(line.encode(), limits=Limits(max_columns=5)).records())
    assert caught.value.code == "too_many_columns"


@pytest.mark.parametrize(
    ("rows", "columns", "code"),
    [
        (1_048_576, 16_384, "too_many_columns"),
        (2_000_000, 1, "too_many_rows"),
        (100_000, 200, "too_many_cells"),
    ],
)
def test_it_refuses_ods_repeat_bombs_before_loading(
    rows: int, columns: int, code: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(ImportFileError) as caught:
        open_table(files.ods_repeated(rows, columns))
    assert caught.value.code == code
    assert time.perf_counter() - started < 2


def xlsb_far_cell() -> bytes:
    """A small .xlsb with one cell at XFD1048576: calamine would allocate
    the whole grid."""
    return files.xlsb_with_sheet(
        files.xlsb_record(0, struct.pack("<I", 1_048_575) + bytes(13))
        + files.xlsb_record(5, struct.pack("<IId", 16_383, 0, 1.0))
    )


@pytest.mark.parametrize("load_whole", [False, True])
def test_it_refuses_an_xlsb_cell_far_out_before_calamine_sees_it(
    load_whole: bool,
) -> None:
    started = time.perf_counter()
    with pytest.raises(ImportFileError) as caught:
        open_table(xlsb_far_cell(), load_whole=load_whole)
    assert caught.value.code == "too_many_columns"
    assert time.perf_counter() - started < 2


def test_the_xlsb_cell_walk_reads_past_records_longer_than_a_read() -> None:
    # A 3 MiB record of another type between the row and its cell: the walk
    # must land on the cell's record after it, across reads of 1 MiB
    # (random bytes: zeros would make a zip bomb).
    records = (
        files.xlsb_record(0, struct.pack("<I", 99) + bytes(13))
        + files.xlsb_record(0x1FF, random.Random(7).randbytes(3 * 2**20))
        + files.xlsb_record(7, struct.pack("<III", 299, 0, 0))
    )
    with pytest.raises(ImportFileError) as caught:
        open_table(files.xlsb_with_sheet(records), limits=Limits(max_rows=99))
    assert caught.value.code == "too_many_rows"
    with pytest.raises(ImportFileError) as caught:
        open_table(files.xlsb_with_sheet(records), limits=Limits(max_columns=299))
    assert caught.value.code == "too_many_columns"
    open_table(files.xlsb_with_sheet(records), limits=Limits(max_columns=300))


def test_openpyxl_parses_through_defusedxml() -> None:
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML


# Every bomb fixture of B1 (and B2's entity attacks), each refused in a
# fresh process so that its own peak is measured.
BOMBS = {
    "zip-bomb": zip_bomb,
    "ods-zip-bomb": ods_zip_bomb,
    "forged-201-mib": forged_201_mib,
    "ods-repeat": lambda: files.ods_repeated(1_048_576, 16_384),
    "billion-laughs": lambda: attack_xlsx(SHEET, BILLION_LAUGHS.encode()),
    "quadratic": lambda: attack_xlsx(SHEET, QUADRATIC.encode()),
    "xlsb-far-cell": xlsb_far_cell,
}
RSS_PROBE = """
import resource, sys, time
from mdm.importing import ImportFileError, open_table
from tests.importing import test_safety as t
bomb = t.BOMBS[sys.argv[1]]()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    open_table(bomb, load_whole=sys.argv[2] == "whole")
except ImportFileError:
    pass
else:
    sys.exit("the bomb was accepted")
seconds = time.perf_counter() - started
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024, seconds)
"""


@pytest.mark.parametrize("reader", ["streamed", "whole"])  # openpyxl / calamine
@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_each_rejection_takes_under_2_s_and_adds_under_100_mib(
    bomb: str, reader: str
) -> None:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, bomb, reader],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    added_mib, seconds = result.stdout.split()
    assert int(added_mib) < 100
    assert float(seconds) < 2
