from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mdm.importing import FileFormat, ImportFileError, open_table
from tests.importing import files

XLSX = files.xlsx([files.HEADERS, *files.CUSTOMERS])
XLS = files.xls([files.HEADERS, *files.CUSTOMERS])
ODS = files.ods([files.HEADERS, ["C001", "北京华盛科技有限公司", 13800138000]])
CSV = files.csv_text([files.HEADERS, *files.CUSTOMERS]).encode("utf-8")
TSV_UTF16 = files.csv_text([files.HEADERS, *files.CUSTOMERS], "\t").encode("utf-16")
GBK_CSV = files.csv_text([files.HEADERS, *files.CUSTOMERS]).encode("gbk")
JSONL = "\n".join(
    json.dumps({"客户名称": name, "电话": str(phone)}, ensure_ascii=False)
    for _, name, phone, *_ in files.CUSTOMERS
).encode()
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64
HTML = files.html_table([files.HEADERS, *files.CUSTOMERS], charset="gbk")
XML2003 = files.spreadsheet_xml([files.HEADERS, *files.CUSTOMERS])
XLSB = files.xlsb([files.HEADERS, *files.CUSTOMERS])
JSON_ARRAY = json.dumps(
    [{"客户名称": name} for _, name, *_ in files.CUSTOMERS], ensure_ascii=False
).encode()
XML = b'<?xml version="1.0"?><catalog><customer>C001</customer></catalog>'
DOCX = files.zip_of(
    {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<document/>"}
)
PLAIN_ZIP = files.zip_of({"readme.txt": b"hello"})

# (content, misleading name, expected format or refusal code)
MISLABELLED: list[tuple[bytes, str, str]] = [
    (XLSX, "customers.csv", "xlsx"),
    (XLSX, "customers.xls", "xlsx"),
    (XLSX, "customers.ods", "xlsx"),
    (XLSX, "customers", "xlsx"),
    (CSV, "customers.xlsx", "csv"),
    (CSV, "customers.xls", "csv"),
    (GBK_CSV, "customers.xlsx", "csv"),
    (TSV_UTF16, "customers.xls", "csv"),
    (XLS, "customers.xlsx", "xls"),
    (XLS, "customers.csv", "xls"),
    (ODS, "customers.xlsx", "ods"),
    (XLSB, "customers.xlsx", "xlsb"),
    (XLSB, "customers.xls", "xlsb"),
    (ODS, "customers.xls", "ods"),
    (JSONL, "customers.csv", "jsonl"),
    (JSONL, "customers.xlsx", "jsonl"),
    (JSON_ARRAY, "customers.csv", "json"),
    (PDF, "customers.xlsx", "not_a_spreadsheet"),
    (PNG, "customers.xlsx", "not_a_spreadsheet"),
    (JPEG, "customers.csv", "not_a_spreadsheet"),
    (HTML, "customers.xls", "html"),
    (HTML, "customers.xlsx", "html"),
    (XML2003, "customers.xls", "xml2003"),
    (XML2003, "customers.xml", "xml2003"),
    (XML, "customers.xls", "not_a_spreadsheet"),
    (DOCX, "customers.xlsx", "not_a_spreadsheet"),
    (PLAIN_ZIP, "customers.xlsx", "not_a_spreadsheet"),
    (b"", "customers.xlsx", "empty_file"),
    (XLSX[: len(XLSX) // 2], "customers.xlsx", "truncated"),
]


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    MISLABELLED,
    ids=[f"{i}-{name}-{exp}" for i, (_, name, exp) in enumerate(MISLABELLED)],
)
def test_it_handles_mislabelled_files_by_content(
    tmp_path: Path, content: bytes, name: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    started = time.perf_counter()
    if expected in set(FileFormat):
        with open_table(path) as table:
            assert table.format == expected
            if table.holds_records:
                assert len(list(table.records())) == 2
            else:
                names = {row.cells[1] for row in table.rows()}
                assert "北京华盛科技有限公司" in names
    else:
        with pytest.raises(ImportFileError) as caught:
            open_table(path)
        assert caught.value.code == expected
        assert caught.value.message.endswith(".")
    assert time.perf_counter() - started < 2


def test_it_reads_bytes_and_paths_alike(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    path.write_bytes(XLSX)
    with open_table(path) as table:
        from_path = [row.cells for row in table.rows()]
    from_bytes = [row.cells for row in open_table(XLSX).rows()]
    assert from_path == from_bytes


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b" \r\n\t\n", "empty_file"),
        (b"\xef\xbb\xbf", "empty_file"),
        (b"\x00\x01\x02binary\x00", "not_a_spreadsheet"),
        (b'<?xml version="1.0"?><Workbook/>', "not_a_spreadsheet"),
        (
            files.zip_of({"mimetype": b"application/vnd.oasis.opendocument.text"}),
            "not_a_spreadsheet",
        ),
        (
            files.zip_of({"[Content_Types].xml": b"<a/>", "xl/workbook.bin": b"x"}),
            "corrupt_file",
        ),
        (XLS[:700], "truncated"),
    ],
)
def test_it_refuses_what_is_not_a_table(content: bytes, code: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        open_table(content)
    assert caught.value.code == code


def test_it_refuses_a_file_over_the_size_cap() -> None:
    from mdm.importing import Limits

    with pytest.raises(ImportFileError) as caught:
        open_table(CSV, limits=Limits(max_file_bytes=10))
    assert caught.value.code == "too_large"
