"""Build real spreadsheet and text files for the importer tests.

Each builder returns the file's bytes, written by the library a user's
software would use (openpyxl, xlwt, odfpy, pyxlsbwriter, Python's codecs),
or a zip put together by hand where the point is a malformed or hostile
container.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import tempfile
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from html import escape
from pathlib import Path

import openpyxl
import pytest
import xlwt
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P
from pyxlsbwriter import XlsbWriter

Rows = Sequence[Sequence[object]]

# Files other programs wrote, kept as they wrote them (see its README.md).
FIXTURE_FILES = Path(__file__).parents[2] / "fixtures" / "files"

HEADERS = ["客户编号", "客户名称", "联系电话", "邮箱", "录入日期"]
CUSTOMERS: list[list[object]] = [
    ["C001", "北京华盛科技有限公司", 13800138000, "a@hs.cn", date(2021, 3, 5)],
    ["C002", "上海东方贸易有限公司", 13900139000, "b@df.cn", date(2020, 1, 2)],
]


def xlsx(rows: Rows, *, title: str | None = None, merge_title: bool = False) -> bytes:
    """An .xlsx with an optional title row (merged across the table) on top."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "客户"
    if title is not None:
        sheet.append([title])
        if merge_title:
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=5)
        sheet.append([])
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def libreoffice_copy(xlsx: bytes, target: str, folder: Path) -> bytes:
    """`xlsx` as LibreOffice saves it as `target` ("xls", "ods", "html": a
    web page; "csv:<filter>:<options>" a CSV in the options' encoding),
    converted headless in `folder`; the test is skipped where LibreOffice
    is not installed."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    source = folder / "客户名单.xlsx"
    source.write_bytes(xlsx)
    subprocess.run(
        [SOFFICE, "--headless", "--norestore",
         f"-env:UserInstallation=file://{folder}/profile",
         "--convert-to", target, "--outdir", str(folder), str(source)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return (folder / f"客户名单.{target.split(':')[0]}").read_bytes()


def xls(rows: Rows) -> bytes:
    """A BIFF8 .xls written by xlwt; dates get a date format as Excel gives."""
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("客户")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, date | datetime):
                sheet.write(r, c, value, date_style)
            elif value is not None:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsb(rows: Rows, *, hidden_first: Rows | None = None) -> bytes:
    """An Excel binary workbook written by pyxlsbwriter, sheet 客户; with
    `hidden_first`, a hidden sheet 说明 of those rows before it (the writer
    wants rows of one width: short ones are padded with empty cells)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "book.xlsb"
        with XlsbWriter(str(path)) as writer:
            if hidden_first is not None:
                writer.add_sheet("说明", hidden=True)
                writer.write_sheet(_padded(hidden_first))
            writer.add_sheet("客户")
            writer.write_sheet(_padded(rows))
        return path.read_bytes()


def xlsb_record(kind: int, data: bytes) -> bytes:
    """One BIFF12 record ([MS-XLSB] 2.1.4): type and size as 7-bit varints."""
    return _varint(kind) + _varint(len(data)) + data


def xlsb_with_sheet(records: bytes) -> bytes:
    """An .xlsb whose one worksheet part holds `records`, put in by hand."""
    return replace_part(xlsb([["a"]]), "xl/worksheets/sheet1.bin", records)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        value, byte = value >> 7, value & 0x7F
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def _padded(rows: Rows) -> list[list[object]]:
    width = max(map(len, rows), default=0)
    return [[*row, *[None] * (width - len(row))] for row in rows]


def ods(rows: Rows) -> bytes:
    """An .ods written by odfpy (strings and floats only)."""
    document = OpenDocumentSpreadsheet()
    table = Table(name="客户")
    for row in rows:
        table_row = TableRow()
        for value in row:
            if isinstance(value, int | float):
                cell = TableCell(valuetype="float", value=value)
            else:
                cell = TableCell(valuetype="string")
            cell.addElement(P(text=str(value)))
            table_row.addElement(cell)
        table.addElement(table_row)
    document.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def ods_repeated(rows: int, columns: int) -> bytes:
    """An .ods of one value repeated over rows x columns: the ODS 'cell bomb'."""
    document = OpenDocumentSpreadsheet()
    table = Table(name="S")
    row = TableRow(numberrowsrepeated=rows)
    cell = TableCell(valuetype="string", numbercolumnsrepeated=columns)
    cell.addElement(P(text="x"))
    row.addElement(cell)
    table.addElement(row)
    document.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def csv_text(rows: Rows, delimiter: str = ",") -> str:
    """Rows joined as delimited text, one line each, CRLF as Excel writes."""
    return "".join(
        delimiter.join("" if v is None else str(v) for v in row) + "\r\n"
        for row in rows
    )


def replace_part(container: bytes, name: str, content: bytes) -> bytes:
    """A copy of a zip container with one part's bytes replaced."""
    source = zipfile.ZipFile(io.BytesIO(container))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = content if info.filename == name else source.read(info)
            target.writestr(info.filename, data)
    return buffer.getvalue()


# Transitional names and their ISO 29500 Strict counterparts, as Excel's
# "Strict Open XML Spreadsheet" writes them (relationship types included).
_STRICT_NAMES = [
    (
        b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        b"http://purl.oclc.org/ooxml/spreadsheetml/main",
    ),
    (
        b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        b"http://purl.oclc.org/ooxml/officeDocument/relationships",
    ),
    (
        b"http://schemas.openxmlformats.org/drawingml/2006/main",
        b"http://purl.oclc.org/ooxml/drawingml/main",
    ),
]


def strict_ooxml(container: bytes) -> bytes:
    """An .xlsx rewritten in Strict Open XML names."""
    source = zipfile.ZipFile(io.BytesIO(container))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith((".xml", ".rels")):
                for transitional, strict in _STRICT_NAMES:
                    data = data.replace(transitional, strict)
            if info.filename == "xl/workbook.xml":
                data = data.replace(b"<workbook ", b'<workbook conformance="strict" ')
            target.writestr(info.filename, data)
    return buffer.getvalue()


def sheet_xml(container: bytes) -> str:
    """The first worksheet's XML of an .xlsx."""
    with zipfile.ZipFile(io.BytesIO(container)) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode()


def zip_of(parts: dict[str, bytes], level: int = 6) -> bytes:
    """A zip with the given parts, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(
        buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level
    ) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_with_large_entry(name: str, size: int) -> bytes:
    """A zip holding `size` bytes of zeros under `name`, written in chunks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        zf.writestr("xl/workbook.xml", b"<workbook/>")
        block = b"\0" * (1024 * 1024)
        with zf.open(name, "w", force_zip64=True) as entry:
            for _ in range(size // len(block)):
                entry.write(block)
    return buffer.getvalue()


def forge_sizes(container: bytes, name: str, compressed: int, size: int) -> bytes:
    """Rewrite one entry's sizes in the central directory, as a lying bomb does."""
    data = bytearray(container)
    encoded = name.encode()
    position = data.find(b"PK\x01\x02")
    while position >= 0:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46 : position + 46 + name_length] == encoded:
            struct.pack_into("<II", data, position + 20, compressed, size)
            return bytes(data)
        position = data.find(b"PK\x01\x02", position + 4)
    raise KeyError(name)


def html_table(
    rows: Rows, *, title: str | None = None, charset: str = "utf-8"
) -> bytes:
    """A page as web reports save their "Excel" export: Excel's namespaces
    and styles, a <meta> charset, the bytes in that charset, a title cell
    spanning the table, th cells for the first row."""
    width = max((len(row) for row in rows), default=1)
    lines = [
        '<html xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">',
        '<head><meta http-equiv="Content-Type" '
        f'content="text/html; charset={charset}">',
        '<style>td { mso-number-format: "\\@"; }</style></head>',
        '<body><table border="1">',
    ]
    if title is not None:
        lines.append(
            f'<tr><td colspan="{width}" align="center"><b>{escape(title)}</b></td></tr>'
        )
    for number, row in enumerate(rows):
        tag = "th" if number == 0 else "td"
        cells = "".join(
            f"<{tag}>{'' if value is None else escape(str(value))}</{tag}>"
            for value in row
        )
        lines.append(f"  <tr>{cells}</tr>")
    lines.append("</table></body></html>")
    return "\r\n".join(lines).encode(charset)


def spreadsheet_xml(rows: Rows, *, title: str | None = None) -> bytes:
    """Excel 2003 XML as Excel writes it: the mso-application instruction,
    the ss namespace, typed <Data>, a title merged across the table, a date
    style, and a hidden sheet of notes before the data."""
    width = max((len(row) for row in rows), default=1)

    def cell(value: object) -> str:
        if value is None:
            return "<Cell/>"
        if isinstance(value, bool):
            kind, text = "Boolean", str(int(value))
        elif isinstance(value, int | float):
            kind, text = "Number", repr(value)
        elif isinstance(value, date | datetime):
            day = (
                value
                if isinstance(value, datetime)
                else datetime(*value.timetuple()[:3])
            )
            kind, text = "DateTime", day.strftime("%Y-%m-%dT%H:%M:%S.000")
        else:
            kind, text = "String", escape(str(value))
        style = ' ss:StyleID="date"' if kind == "DateTime" else ""
        return f'<Cell{style}><Data ss:Type="{kind}">{text}</Data></Cell>'

    body = []
    if title is not None:
        body.append(
            f'<Row><Cell ss:MergeAcross="{width - 1}">'
            f'<Data ss:Type="String">{escape(title)}</Data></Cell></Row>'
        )
        body.append('<Row ss:Index="3">' + "".join(map(cell, rows[0])) + "</Row>")
        rows = rows[1:]
    body += ["<Row>" + "".join(map(cell, row)) + "</Row>" for row in rows]
    return "\r\n".join(
        [
            '<?xml version="1.0"?>',
            '<?mso-application progid="Excel.Sheet"?>',
            '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"',
            ' xmlns:o="urn:schemas-microsoft-com:office:office"',
            ' xmlns:x="urn:schemas-microsoft-com:office:excel"',
            ' xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"',
            ' xmlns:html="http://www.w3.org/TR/REC-html40">',
            ' <Styles><Style ss:ID="date"><NumberFormat ss:Format="Short Date"/>'
            "</Style></Styles>",
            ' <Worksheet ss:Name="说明">',
            '  <Table><Row><Cell><Data ss:Type="String">导出说明</Data></Cell></Row>'
            "</Table>",
            '  <WorksheetOptions xmlns="urn:schemas-microsoft-com:office:excel">'
            "<Visible>SheetHidden</Visible></WorksheetOptions>",
            " </Worksheet>",
            ' <Worksheet ss:Name="客户">',
            f'  <Table ss:ExpandedColumnCount="{width}" x:FullColumns="1"'
            ' x:FullRows="1">',
            *("   " + row for row in body),
            "  </Table>",
            " </Worksheet>",
            "</Workbook>",
        ]
    ).encode()
