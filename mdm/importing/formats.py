"""Work out what an uploaded file really is, from its bytes alone.

Users rename files freely (an .xls that is really an HTML table, a CSV saved
as .xlsx), so the file name is never consulted: zip containers are classified
by their parts, OLE2 files by their streams, and everything else is text:
a web page, Excel 2003 XML, JSON, JSON Lines or delimited text.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import BinaryIO

import olefile

from mdm.importing import messages, safety, spreadsheet_xml
from mdm.importing.encodings import bomless_utf16
from mdm.importing.errors import ImportFileError
from mdm.importing.json_documents import wraps_records

Source = str | os.PathLike[str] | bytes

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_SAMPLE = 64 * 1024

# Binary formats people upload by mistake, so the refusal can say what it got.
_KNOWN_BINARIES = (
    (b"%PDF", messages.A_PDF),
    (b"\x89PNG", messages.A_PNG),
    (b"\xff\xd8\xff", messages.A_JPEG),
    (b"GIF8", messages.A_GIF),
    (b"Rar!", messages.A_RAR),
    (b"7z\xbc\xaf", messages.A_7ZIP),
    (b"\x1f\x8b", messages.A_GZIP),
    (b"{\\rtf", messages.AN_RTF),
)
_ZIP_DOCUMENTS = (
    ("word/document.xml", messages.A_WORD_DOCUMENT),
    ("ppt/presentation.xml", messages.A_PRESENTATION),
)
# How a web page begins (an HTML export's "Excel" file among them); markup
# comments, <meta> and <style> may come before <html> or without it.
_HTML_STARTS = (
    "<!doctype html",
    "<html",
    "<table",
    "<head",
    "<body",
    "<meta",
    "<style",
)
_XHTML = re.compile(r"<html[\s>]", re.IGNORECASE)
# "[{" or "[]", spaces between: an array of records, not a CSV whose first
# header is written "[客户编号]".
_JSON_ARRAY = re.compile(r"\[\s*[{\]]")
_COMMENTS = re.compile(r"<!--.*?-->", re.DOTALL)


class FileFormat(StrEnum):
    """The kinds of upload the importer reads."""

    XLSX = "xlsx"
    XLSB = "xlsb"  # Excel binary workbook
    XLS = "xls"
    ODS = "ods"
    CSV = "csv"
    JSONL = "jsonl"
    JSON = "json"  # one document: an array of records, or an export wrapping one
    HTML = "html"  # a web page's tables (many systems' "Excel" export)
    XML2003 = "xml2003"  # Excel 2003 XML (SpreadsheetML)


@contextmanager
def open_source(source: Source) -> Iterator[BinaryIO]:
    """Open a path or an in-memory upload as a binary stream."""
    if isinstance(source, bytes):
        yield io.BytesIO(source)
    else:
        with open(source, "rb") as stream:
            yield stream


def source_size(source: Source) -> int:
    """The size of the upload in bytes."""
    if isinstance(source, bytes):
        return len(source)
    return os.stat(source).st_size


def detect_format(source: Source, limits: safety.Limits) -> FileFormat:
    """Classify the upload by content; refuse anything that is not a table.

    Zip containers pass the central-directory bomb check before any part is
    read, even the few bytes classification needs.
    """
    safety.check_file_size(source_size(source), limits)
    with open_source(source) as stream:
        head = stream.read(_SAMPLE)
    if head.startswith(_ZIP_MAGIC):
        return _classify_zip(source, limits)
    if head.startswith(_OLE_MAGIC):
        return _classify_ole(source)
    for magic, what in _KNOWN_BINARIES:
        if head.startswith(magic):
            raise _not_a_spreadsheet(what)
    return _classify_text(head)


def _classify_zip(source: Source, limits: safety.Limits) -> FileFormat:
    with open_source(source) as stream:
        try:
            archive = zipfile.ZipFile(stream)
        except safety.ZIP_READ_ERRORS as exc:
            raise ImportFileError("truncated", messages.TRUNCATED_ZIP) from exc
        with archive:
            safety.check_zip_directory(archive, limits)
            names = set(archive.namelist())
            if {"[Content_Types].xml", "xl/workbook.xml"} <= names:
                return FileFormat.XLSX
            if {"[Content_Types].xml", "xl/workbook.bin"} <= names:
                return FileFormat.XLSB
            if "mimetype" in names:
                with archive.open("mimetype") as part:
                    mimetype = part.read(100).strip()
                if mimetype == _ODS_MIMETYPE:
                    return FileFormat.ODS
                raise _not_a_spreadsheet(messages.AN_OPENDOCUMENT)
            for part_name, what in _ZIP_DOCUMENTS:
                if part_name in names:
                    raise _not_a_spreadsheet(what)
    raise _not_a_spreadsheet(messages.A_ZIP)


def _classify_ole(source: Source) -> FileFormat:
    try:
        with open_source(source) as stream, olefile.OleFileIO(stream) as ole:
            if ole.exists("Workbook") or ole.exists("Book"):
                return FileFormat.XLS
            if ole.exists("EncryptedPackage"):
                raise ImportFileError("encrypted", messages.ENCRYPTED)
            if ole.exists("WordDocument"):
                raise _not_a_spreadsheet(messages.A_WORD_DOCUMENT)
    except OSError as exc:
        raise ImportFileError("truncated", messages.TRUNCATED_XLS) from exc
    raise _not_a_spreadsheet(messages.AN_OFFICE_FILE)


def _classify_text(head: bytes) -> FileFormat:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="replace")
    elif b"\x00" in head:
        if (codec := bomless_utf16(head)) is None:
            raise _not_a_spreadsheet(messages.A_BINARY_FILE)
        text = head.decode(codec, errors="replace")
    else:
        text = head.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if not stripped:
        raise ImportFileError("empty_file", messages.NO_DATA)
    if stripped.startswith("<"):
        return _classify_markup(stripped)
    if _JSON_ARRAY.match(stripped):
        return FileFormat.JSON
    if stripped.startswith("{"):
        return _classify_json_object(stripped.split("\n", 1)[0])
    return FileFormat.CSV


def _classify_json_object(first_line: str) -> FileFormat:
    # One object on the first line is JSON Lines, unless it wraps the
    # records (a compact {"RECORDS": [...]}); an object spread over lines,
    # or longer than the sample, is one document.
    try:
        first = json.loads(first_line)
        record = isinstance(first, dict) and not wraps_records(first)
    except (ValueError, RecursionError):
        return FileFormat.JSON
    return FileFormat.JSONL if record else FileFormat.JSON


def _classify_markup(text: str) -> FileFormat:
    start = _COMMENTS.sub("", text).lstrip().lower()
    if start.startswith(_HTML_STARTS):
        return FileFormat.HTML
    if (
        start.startswith(("<?xml", "<workbook", "<ss:workbook"))
        and spreadsheet_xml.NAMESPACE in start
    ):
        return FileFormat.XML2003
    if start.startswith("<?xml") and _XHTML.search(start):
        return FileFormat.HTML  # XHTML
    if start.startswith("<?xml"):
        raise _not_a_spreadsheet(messages.AN_XML_DOCUMENT)
    raise _not_a_spreadsheet(messages.A_MARKUP_DOCUMENT)


def _not_a_spreadsheet(what: messages.Phrase) -> ImportFileError:
    return ImportFileError("not_a_spreadsheet", messages.NOT_A_SPREADSHEET, what=what)
