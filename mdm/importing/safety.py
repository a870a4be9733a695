"""Checks that run before any parser touches an uploaded file.

Spreadsheet containers are zip archives full of XML, which makes them a
classic carrier for zip bombs and XML entity attacks (RELIABILITY B1-B3).
Everything here reads only the zip central directory, the first few bytes of
each XML part, or (for ODS) the cell structure, and refuses with an
`ImportFileError` before a spreadsheet library allocates anything big.
"""

from __future__ import annotations

import functools
import re
import xml.parsers.expat
import zipfile
import zlib
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from mdm.importing import messages
from mdm.importing.errors import ImportFileError

MIB = 1024 * 1024
_CHUNK = 64 * 1024
# Office and LibreOffice put the root element within the first few hundred
# bytes; a part whose prolog runs past this is built to make us read it.
_MAX_PROLOG = 1 * MIB
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_XML_STARTS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")

# What Python's zipfile raises on a damaged, encrypted or exotic entry
# (ValueError: a header offset pointing before the file, found by fuzzing).
ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    EOFError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OSError,
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
    # An .xlsx whose cells span at most this many is read whole by
    # python-calamine (~20x faster than openpyxl, ~100 bytes per cell: about
    # 300 MiB here); a bigger one streams through openpyxl in flat memory.
    max_fast_xlsx_cells: int = 3_000_000


DEFAULT_LIMITS = Limits()


def check_file_size(size: int, limits: Limits) -> None:
    """Refuse an empty file or one over the upload size cap."""
    if size == 0:
        raise ImportFileError("empty_file", messages.EMPTY_FILE)
    if size > limits.max_file_bytes:
        raise ImportFileError(
            "too_large",
            messages.TOO_LARGE,
            size=f"{size / MIB:.0f}",
            limit=f"{limits.max_file_bytes / MIB:.0f}",
        )


def check_zip_directory(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse a zip bomb using only the sizes declared in the central directory.

    Python's zipfile never inflates an entry past its declared size (it stops
    and fails the CRC check), so the declared sizes bound what openpyxl reads.
    """
    entries = archive.infolist()
    if any(not entry.filename for entry in entries):
        # Found by fuzzing: zipfile itself fails on a part with no name.
        raise ImportFileError("corrupt_file", messages.UNNAMED_PART)
    if len(entries) > limits.max_zip_entries:
        raise ImportFileError(
            "zip_bomb",
            messages.TOO_MANY_PARTS,
            parts=len(entries),
            limit=limits.max_zip_entries,
        )
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_uncompressed_bytes:
        raise ImportFileError(
            "zip_bomb",
            messages.EXPANDS_TOO_MUCH,
            size=f"{total / MIB:.0f}",
            limit=f"{limits.max_uncompressed_bytes / MIB:.0f}",
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if (
            entry.file_size > limits.ratio_floor_bytes
            and ratio > limits.max_compression_ratio
        ):
            raise ImportFileError(
                "zip_bomb",
                messages.COMPRESSION_BOMB,
                part=entry.filename,
                ratio=f"{ratio:.0f}",
            )


# A cell with a plain reference (what Excel, LibreOffice, openpyxl and
# XlsxWriter all write), and a namespace-prefixed cell.
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
_PREFIXED_CELL = re.compile(rb":c(?=[\s/>])")


def xlsx_cell_extent(archive: zipfile.ZipFile) -> tuple[int, int] | None:
    """The rows x columns a whole-sheet reader would allocate, at most.

    python-calamine builds the bounding box of a sheet's cells densely, so
    one stray cell at XFD1048576 would ask for 17 billion cells. This bounds
    the reference of every cell in every XML part (not the declared
    <dimension>, which may lie) and returns the largest row and column:
    an upper bound for any sheet of the workbook. None when some cell has no
    plain reference (the attribute is optional, or carries a namespace
    prefix); the caller then streams the sheet instead.
    """
    height = width = 0
    for entry in archive.infolist():
        if entry.is_dir() or not entry.filename.lower().endswith(".xml"):
            continue
        try:
            with archive.open(entry) as part:
                extent = _part_cell_extent(part, height, width)
        except ZIP_READ_ERRORS as exc:
            raise ImportFileError(
                "corrupt_file",
                messages.DAMAGED_PART,
                part=entry.filename,
                detail=str(exc),
            ) from exc
        if extent is None:
            return None
        height, width = extent
    return height, width


def _part_cell_extent(
    part: zipfile.ZipExtFile, height: int, width: int
) -> tuple[int, int] | None:
    # Sheets list rows in order, so the last cell of a chunk is normally its
    # furthest; one regex search then proves no cell lies beyond it, and
    # only a chunk that breaks the order pays for reading every reference.
    tail = b""
    while True:
        chunk = part.read(MIB)
        buffer = tail + chunk
        cut = buffer.rfind(b"<") if chunk else -1
        buffer, tail = (buffer[:cut], buffer[cut:]) if cut > 0 else (buffer, b"")
        if _PREFIXED_CELL.search(buffer):
            return None
        last = _CELL_REF.match(buffer, max(buffer.rfind(b'<c r="'), 0))
        if last is not None:
            height = max(height, int(last[2]))
            width = max(width, _column_number(last[1]))
        while found := _beyond(height, width).search(buffer):
            if not found[0].startswith(b'<c r="'):
                return None  # a cell without a plain reference
            for letters, digits in set(_CELL_REF.findall(buffer)):
                height = max(height, int(digits))
                width = max(width, _column_number(letters))
        if not chunk:
            return height, width


@functools.lru_cache(maxsize=64)
def _beyond(height: int, width: int) -> re.Pattern[bytes]:
    """A cell whose reference lies past column `width` or row `height`, or
    that has no plain reference at all (one regex: one pass over the text)."""
    letters = _column_letters(width)
    digits = str(height)
    return re.compile(
        b'<c(?:(?=[\\s/>])(?! r="[A-Z]{1,3}[0-9]{1,7}")'
        b'| r="(?:(?:%s)[0-9]|[A-Z]{1,3}(?:%s)"))'
        % (
            _greater(letters, "A", "Z", 3).encode(),
            _greater(digits, "0", "9", 99).encode(),
        )
    )


def _greater(text: str, low: str, high: str, max_len: int) -> str:
    """A pattern for strings over [low-high] that are greater than `text` as
    numbers written in that alphabet (no leading `low` digits expected)."""
    options = []
    if len(text) < max_len:
        options.append(f"[{low}-{high}]{{{len(text) + 1},{max_len}}}")
    for i, char in enumerate(text):
        if char < high:
            bigger = f"[{chr(ord(char) + 1)}-{high}]"
            rest = f"[{low}-{high}]{{{len(text) - i - 1}}}"
            options.append(f"{re.escape(text[:i])}{bigger}{rest}")
    return "|".join(options) or "(?!)"


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


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
        try:
            with archive.open(entry) as part:
                _check_prolog(entry.filename, part)
        except ZIP_READ_ERRORS as exc:
            # Found by fuzzing: a damaged entry fails on its first read.
            raise ImportFileError(
                "corrupt_file",
                messages.DAMAGED_PART,
                part=entry.filename,
                detail=str(exc),
            ) from exc


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
                raise ImportFileError("xml_attack", messages.LONG_PROLOG, part=name)
            chunk = part.read(_CHUNK)
        parser.close()
    except _RootReached:
        return
    except DefusedXmlException as exc:
        raise ImportFileError("xml_attack", messages.DTD_IN_PART, part=name) from exc
    except (ParseError, *ZIP_READ_ERRORS) as exc:
        raise ImportFileError(
            "corrupt_file", messages.DAMAGED_PART, part=name, detail=str(exc)
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
        *ZIP_READ_ERRORS,
    ) as exc:
        raise ImportFileError(
            "corrupt_file", messages.DAMAGED_ODS, detail=str(exc)
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
            messages.TOO_MANY_CELLS,
            rows=height,
            columns=width,
            limit=f"{limits.max_cells:,}",
        )


def too_many_rows(limits: Limits) -> ImportFileError:
    """The error for a sheet with more rows than `limits.max_rows`."""
    return ImportFileError(
        "too_many_rows", messages.TOO_MANY_ROWS, limit=f"{limits.max_rows:,}"
    )


def too_many_columns(limits: Limits) -> ImportFileError:
    """The error for a row with more columns than `limits.max_columns`."""
    return ImportFileError(
        "too_many_columns", messages.TOO_MANY_COLUMNS, limit=limits.max_columns
    )
