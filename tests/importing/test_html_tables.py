"""Web pages' tables: the "Excel" export of many ERP and CRM web reports."""

from __future__ import annotations

import html
import string
import subprocess
import sys
from pathlib import Path

import pandas
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdm.importing import ImportFileError, Limits, open_table
from mdm.importing.headers import propose_mapping
from tests.importing import files

EXCEL_STYLE_PAGE = """<html xmlns:x="urn:schemas-microsoft-com:office:excel">
<head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<style>td {mso-number-format:"\\@"}</style></head>
<body><table border=1>
<tr><td colspan=4 align=center><b>客户档案</b></td></tr>
<tr></tr>
<tr><th>客户编号</th><th>客户名称</th><th>手机</th><th>备注</th></tr>
<tr><td>001</td><td rowspan=2>北京华盛<br>科技有限公司</td><td>13800138000</td>
    <td>  老客户，
        月结 &amp; 开票 </td></tr>
<tr><td>002</td><td>13900139000</td><td>&nbsp;</td></tr>
<tr><td>003</td><td><table><tr><td>layout</td></tr></table></td><td>x</td></tr>
<tr><TD>004</TD><td>镕基实业</td></tr>
</table></body></html>"""


def test_it_reads_a_web_report_saved_as_xls_like_excel_shows_it() -> None:
    table = open_table(EXCEL_STYLE_PAGE.encode("gbk"))
    assert (table.format, table.encoding, table.sheet_names) == ("html", "gb18030", [])
    rows = list(table.rows())
    assert [(row.number, row.cells) for row in rows] == [
        (1, ["客户档案"]),
        (3, ["客户编号", "客户名称", "手机", "备注"]),
        (4, ["001", "北京华盛\n科技有限公司", "13800138000", "老客户， 月结 & 开票"]),
        # The name above spans this row: its cell is covered, the rest move on.
        (5, ["002", None, "13900139000"]),
        # A cell holding a table is empty; the table's row is a row of its
        # own, handed out when it ends, before the row around it.
        (7, ["layout"]),
        (6, ["003", None, "x"]),
        (8, ["004", "镕基实业"]),  # 镕 is GBK, not GB2312: read as browsers do
    ]
    assert table.size_hint() >= 7


def test_a_page_mislabelled_by_its_template_is_read_in_its_real_encoding() -> None:
    page = EXCEL_STYLE_PAGE.encode("utf-8")  # still declares gb2312
    table = open_table(page)
    assert table.encoding == "utf-8"
    assert list(table.rows())[1].cells[1] == "客户名称"


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        ('<meta charset="big5"><table><tr><td>客戶名稱</td></tr></table>', "big5"),
        ("<table><tr><td>客户名称</td></tr></table>", "utf-16"),
        ("<table><tr><td>客户名称</td></tr></table>", "gb18030"),
    ],
)
def test_declared_bom_and_detected_encodings(content: str, encoding: str) -> None:
    table = open_table(content.encode(encoding))
    assert list(table.rows())[0].cells == [content.split("<td>")[1].split("<")[0]]


def test_the_users_encoding_wins_over_the_declared_one() -> None:
    page = '<meta charset="utf-8"><table><tr><td>客户</td></tr></table>'.encode("gbk")
    table = open_table(page, encoding="gbk")
    assert list(table.rows())[0].cells == ["客户"]


def test_its_rows_get_a_header_and_a_mapping_like_a_sheets() -> None:
    page = files.html_table([files.HEADERS, *files.CUSTOMERS], title="客户名单")
    mapping = propose_mapping(open_table(page).rows())
    assert mapping.header_row == 2
    fields = {column.header: column.field for column in mapping.columns}
    assert (fields["客户名称"], fields["联系电话"]) == ("legal_name", "phones")


def test_it_reads_what_pandas_writes() -> None:
    frame = pandas.DataFrame(
        {"客户编号": ["001", "002"], "客户名称": ["华盛 & 子", "<东方>"]}
    )
    rows = list(open_table(frame.to_html(index=False).encode()).rows())
    assert [row.cells for row in rows] == [
        ["客户编号", "客户名称"],
        ["001", "华盛 & 子"],
        ["002", "<东方>"],
    ]


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><p>报表为空</p></body></html>",
        "<!doctype html>",
        "<table></table>",
    ],
)
def test_a_page_without_a_readable_row_is_refused_clearly(page: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        list(open_table(page.encode()).rows())
    assert caught.value.code == "no_table"


def test_a_data_table_inside_a_layout_table_is_read() -> None:
    # A web page saved whole: menus and the report in cells of a layout table.
    page = (
        "<html><body><table><tr><td>菜单</td><td>"
        "<table><tr><th>客户编号</th><th>客户名称</th></tr>"
        "<tr><td>C001</td><td>北京华盛科技有限公司</td></tr></table>"
        "</td></tr></table></body></html>"
    )
    rows = list(open_table(page.encode()).rows())
    assert [row.cells for row in rows] == [
        ["客户编号", "客户名称"],
        ["C001", "北京华盛科技有限公司"],
        ["菜单"],  # the layout row, last: it ends last
    ]
    assert propose_mapping(rows).header_row == 2


def test_a_page_nested_deeper_than_any_browser_nests_is_still_read() -> None:
    page = "<html><body>" + "<div>" * 300 + "<table><tr><td>a</td></tr></table>"
    assert [row.cells for row in open_table(page.encode()).rows()] == [["a"]]


def test_a_row_wider_than_the_limit_is_refused_before_it_is_all_parsed() -> None:
    page = "<table><tr>" + "<td>x</td>" * 200_000 + "</tr></table>"
    with pytest.raises(ImportFileError) as caught:
        list(open_table(page.encode(), limits=Limits(max_columns=50)).rows())
    assert caught.value.code == "too_many_columns"


def test_spans_are_capped_as_browsers_cap_them() -> None:
    page = (
        '<table><tr><td rowspan="999999999" colspan="99999">a</td><td>b</td></tr>'
        "<tr><td>c</td></tr></table>"
    )
    rows = list(open_table(page.encode(), limits=Limits(max_columns=2000)).rows())
    assert rows[0].cells[0] == "a" and rows[0].cells[1000] == "b"
    assert rows[1].cells[1000] == "c"  # under the first row's cover


def test_entities_are_not_expanded_from_an_internal_dtd() -> None:
    page = (
        '<!DOCTYPE html [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        "<table><tr><td>&b;</td></tr></table>"
    )
    assert list(open_table(page.encode()).rows())[0].cells == ["&b;"]


_TEXT = st.text(
    alphabet=st.sampled_from(string.ascii_letters + string.digits + "<>&\"' -/华盛镕"),
    max_size=12,
)


@given(st.lists(st.lists(_TEXT, min_size=1, max_size=6), min_size=1, max_size=8))
def test_any_grid_of_text_comes_back_as_a_browser_shows_it(grid) -> None:
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>\n"
        for row in grid
    )
    page = f"<html><body><table>\n{cells}</table></body></html>".encode()
    rows = {row.number: row.cells for row in open_table(page).rows()}
    for number, row in enumerate(grid, start=1):
        shown = [" ".join(v.split()) or None for v in row]
        while shown and shown[-1] is None:
            shown.pop()
        assert rows.get(number, []) == shown


FLAT_MEMORY_PROBE = """
import resource, sys
from mdm.importing import open_table
filler = "<p>" + "报表说明" * 10 + "</p>"
page = ("<html><body>" + filler * int(sys.argv[1]) + "<table><tr><td>a</td></tr>"
        "</table></body></html>").encode()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = [row.cells for row in open_table(page).rows()]
assert rows == [["a"]], rows
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_what_is_outside_the_tables_takes_no_memory() -> None:
    # 300,000 paragraphs (~15 MiB of text): as a tree they would take
    # ~95 MiB; the parser target builds none.
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", FLAT_MEMORY_PROBE, "300000"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert int(result.stdout) < 40


def test_the_size_hint_counts_every_row_across_read_blocks_once() -> None:
    # The byte scan reads 4 MiB blocks: spaces put a row's tag across the
    # first block's end ("<t" | "r>"), the rest of the rows after it.
    block = 4 * 1024 * 1024
    head = b"<html><body><table>"
    rows = "".join(f"<tr><td>C{i:06d}</td><TR ><td>x</td>" for i in range(200_000))
    tag = rows.encode().rfind(b"<tr>", 0, block - 2 - len(head))
    page = head + b" " * (block - 2 - len(head) - tag) + rows.encode()
    assert page[block - 2 : block + 2] == b"<tr>"
    assert open_table(page).size_hint() == 400_000
