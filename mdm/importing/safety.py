"""Checks that run before any parser touches an uploaded file.

Spreadsheet containers are zip archives full of XML, which makes them a
classic carrier for zip bombs and XML entity attacks (RELIABILITY B1-B3).
Everything here reads only the zip central directory, the first few bytes of
each XML part, or (for ODS) the cell structure, and refuses with an
`ImportFileError` before a spreadsheet library allocates anything big.
"""

from __future__ import annotations

import xml.parsers.expat
import zipfile
import zlib
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from mdm.importing.errors import ImportFileError

MIB = 1024 * 1024
_CHUNK = 64 * 1024
# Office and LibreOffice put the root element within the first few hundred
# bytes; a part whose prolog runs past this is built to make us read it.
_MAX_PROLOG = 1 * MIB
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_XML_STARTS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")

# What Python's zipfile raises on a damaged, encrypted or exotic entry.
_ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    EOFError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
)

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


@dataclass(frozen=True)
class Limits:
    """Size caps applied to every upload; each one is configurable."""

    max_file_bytes: int = 200 * MIB
    max_uncompressed_bytes: int = 200 * MIB
    max_compression_ratio: float = 100.0
    # Small parts (styles, shared strings of a tiny sheet) compress far better
    # than 100:1 legitimately; the ratio only matters once an entry is big.
    ratio_floor_bytes: int = 1 * MIB
    max_zip_entries: int = 10_000
    max_rows: int = 1_048_576
    max_columns: int = 256
    # Upper bound on rows x columns for readers that build the whole sheet
    # in memory (python-calamine keeps 32 bytes per cell of the bounding box).
    max_cells: int = 10_000_000


DEFAULT_LIMITS = Limits()


def check_file_size(size: int, limits: Limits) -> None:
    """Refuse an empty file or one over the upload size cap."""
    if size == 0:
        raise ImportFileError("empty_file", "The file is empty.")
    if size > limits.max_file_bytes:
        raise ImportFileError(
            "too_large",
            f"The file is {size / MIB:.0f} MiB, over the "
            f"{limits.max_file_bytes / MIB:.0f} MiB upload limit. "
            "Split it into smaller files.",
        )


def check_zip_directory(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse a zip bomb using only the sizes declared in the central directory.

    Python's zipfile never inflates an entry past its declared size (it stops
    and fails the CRC check), so the declared sizes bound what openpyxl reads.
    """
    entries = archive.infolist()
    if len(entries) > limits.max_zip_entries:
        raise ImportFileError(
            "zip_bomb",
            f"The file contains {len(entries)} parts, more than the "
            f"{limits.max_zip_entries} a spreadsheet needs; it was refused as unsafe.",
        )
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_uncompressed_bytes:
        raise ImportFileError(
            "zip_bomb",
            f"The file expands to {total / MIB:.0f} MiB when unpacked, over the "
            f"{limits.max_uncompressed_bytes / MIB:.0f} MiB limit. "
            "Split it into smaller files or save it as CSV.",
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if (
            entry.file_size > limits.ratio_floor_bytes
            and ratio > limits.max_compression_ratio
        ):
            raise ImportFileError(
                "zip_bomb",
                f"The part {entry.filename!r} expands {ratio:.0f} times when "
                "unpacked, which only happens in files built to exhaust memory; "
                "it was refused as unsafe.",
            )


def check_xml_parts(archive: zipfile.ZipFile) -> None:
    """Refuse the container if any XML part declares a DOCTYPE or entities.

    Spreadsheets never need a DTD; billion laughs, quadratic blow-up and
    external entities all need one. A DTD may only appear before the root
    element, so each part is parsed (by defusedxml, over expat, which copes
    with UTF-16 parts) just until its root element starts.
    """
    for entry in archive.infolist():
        if entry.is_dir() or entry.file_size == 0:
            continue
        with archive.open(entry) as part:
            _check_prolog(entry.filename, part)


class _RootReached(Exception):
    pass


class _StopAtRoot:
    def start(self, tag: str, attrib: dict[str, str]) -> None:
        raise _RootReached

    def close(self) -> None:
        return None


def _check_prolog(name: str, part: zipfile.ZipExtFile) -> None:
    chunk = part.read(_CHUNK)
    stripped = chunk.lstrip(b" \t\r\n")
    is_xml = name.lower().endswith(_XML_SUFFIXES) or stripped.startswith(
        (b"<", *_XML_STARTS)
    )
    if not is_xml:
        return
    parser = DefusedXMLParser(target=_StopAtRoot(), forbid_dtd=True)
    seen = 0
    try:
        while chunk:
            parser.feed(chunk)
            seen += len(chunk)
            if seen > _MAX_PROLOG:
                raise ImportFileError(
                    "xml_attack",
                    f"The part {name!r} has an abnormally long XML prolog; "
                    "the file was refused as unsafe.",
                )
            chunk = part.read(_CHUNK)
        parser.close()
    except _RootReached:
        return
    except DefusedXmlException as exc:
        raise ImportFileError(
            "xml_attack",
            f"The part {name!r} declares a DTD or XML entities, which "
            "spreadsheets never contain; the file was refused as unsafe.",
        ) from exc
    except (ParseError, *_ZIP_READ_ERRORS) as exc:
        raise ImportFileError(
            "corrupt_file",
            f"The part {name!r} of the workbook is damaged ({exc}).",
        ) from exc


def check_ods_extent(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse an ODS sheet whose repeated rows/cells would exceed the caps.

    ODS compresses a block of identical cells into one element with
    `number-rows-repeated` / `number-columns-repeated`; a 1 KiB file can ask
    for billions of cells, and python-calamine materialises the bounding box.
    Only cells that carry a value count, as LibreOffice itself pads every
    sheet with huge repeated blocks of empty cells.
    """
    extent = _OdsExtent(limits)
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = extent.start
    parser.EndElementHandler = extent.end
    parser.buffer_text = True
    try:
        with archive.open("content.xml") as content:
            while chunk := content.read(MIB):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except (
        KeyError,
        ValueError,
        xml.parsers.expat.ExpatError,
        *_ZIP_READ_ERRORS,
    ) as exc:
        raise ImportFileError(
            "corrupt_file", f"The ODS content is damaged ({exc})."
        ) from exc


class _OdsExtent:
    """Tracks the used extent of each table while expat walks content.xml."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.row = 0
        self.row_repeat = 1
        self.column = 0
        self.row_width = 0
        self.width = 0
        self.cell_repeat = 0
        self.cell_has_value = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == f"{_TABLE} table":
            self.row = 0
            self.width = 0
        elif name == f"{_TABLE} table-row":
            self.row_repeat = _repeat(attrs, "number-rows-repeated")
            self.column = 0
            self.row_width = 0
        elif name in (f"{_TABLE} table-cell", f"{_TABLE} covered-table-cell"):
            self.cell_repeat = _repeat(attrs, "number-columns-repeated")
            self.cell_has_value = f"{_OFFICE} value-type" in attrs
        elif self.cell_repeat:
            self.cell_has_value = True

    def end(self, name: str) -> None:
        if name in (f"{_TABLE} table-cell", f"{_TABLE} covered-table-cell"):
            self.column += self.cell_repeat
            if self.cell_has_value:
                self.row_width = self.column
            self.cell_repeat = 0
        elif name == f"{_TABLE} table-row":
            if self.row_width:
                self.width = max(self.width, self.row_width)
                check_extent(self.row + self.row_repeat, self.width, self.limits)
            self.row += self.row_repeat


def _repeat(attrs: dict[str, str], name: str) -> int:
    return max(1, int(attrs.get(f"{_TABLE} {name}", 1)))


def check_extent(height: int, width: int, limits: Limits) -> None:
    """Refuse a sheet whose used area breaks the row, column or cell caps."""
    if height > limits.max_rows:
        raise too_many_rows(limits)
    if width > limits.max_columns:
        raise too_many_columns(limits)
    if height * width > limits.max_cells:
        raise ImportFileError(
            "too_many_cells",
            f"The sheet spans {height} rows by {width} columns, over the "
            f"{limits.max_cells:,} cell limit. Save it as .xlsx or CSV, or split it.",
        )


def too_many_rows(limits: Limits) -> ImportFileError:
    """The error for a sheet with more rows than `limits.max_rows`."""
    return ImportFileError(
        "too_many_rows",
        f"The sheet has more than {limits.max_rows:,} rows. Split it into "
        "smaller files.",
    )


def too_many_columns(limits: Limits) -> ImportFileError:
    """The error for a row with more columns than `limits.max_columns`."""
    return ImportFileError(
        "too_many_columns",
        f"The sheet has data beyond column {limits.max_columns}. Delete the stray "
        "cells on the right or split the sheet.",
    )
