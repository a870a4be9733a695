"""Open an upload as a `Table`: a stream of rows (or JSON records).

Each format goes to a maintained reader: openpyxl in read-only mode for .xlsx
(it streams row by row), python-calamine for .xls, .xlsb and .ods (each
bounded before loading: BIFF8 by its 65,536 x 256 grid, ODS by the extent
check in `safety`, .xlsb by its cell records, `xlsb_cells`), the csv module
for delimited text, json for JSON Lines, ijson for JSON documents
(`json_documents`), and lxml for web pages' tables (`html_tables`) and
Excel 2003 XML (`spreadsheet_xml`).

python-calamine reads .xlsx some 20 times faster than openpyxl but has no
lazy API: it builds the whole bounding box of a sheet in memory, 32 bytes per
cell, so two stray cells at A1 and XFD1048576 would abort the process. A
caller that reads a whole sheet (the import run, not the mapping preview)
passes `load_whole=True`; the sheet then goes to calamine only when the cell
references bound its box within `limits.max_fast_xlsx_cells`, and is
streamed by openpyxl otherwise. A preview goes to calamine on the same terms
when openpyxl would parse the whole sheet anyway to open it (no declared
<dimension>: `_parsed_whole_to_open`).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import BinaryIO

import openpyxl
import openpyxl.xml
from openpyxl.workbook.workbook import Workbook
from python_calamine import (
    CalamineSheet,
    CalamineWorkbook,
    PasswordError,
    SheetVisibleEnum,
)

from mdm.importing import messages, safety, spreadsheet_xml
from mdm.importing.encodings import TextEncoding, iter_lines, resolve_encoding
from mdm.importing.errors import ImportFileError, RowError, sheet_not_found
from mdm.importing.formats import FileFormat, Source, detect_format, open_source
from mdm.importing.html_tables import ROW_TAG, html_encoding, html_merges, html_rows
from mdm.importing.json_documents import (
    Layout,
    checked_record,
    float_or_text,
    json_layout,
    json_records,
    not_json,
)
from mdm.importing.merged_cells import (
    Merge,
    calamine_merges,
    ods_merges,
    xlsx_merges,
)
from mdm.importing.safety import DEFAULT_LIMITS, Limits
from mdm.importing.xlsb_cells import xlsb_cell_extent, xlsb_merges
from mdm.importing.xlsb_compact_cells import xlsb_with_full_cells

if not openpyxl.xml.DEFUSEDXML:
    # openpyxl silently falls back to the stdlib parser without defusedxml, or
    # when OPENPYXL_DEFUSEDXML=False; refuse to run rather than parse unsafely.
    raise ImportError("openpyxl must parse through defusedxml (RELIABILITY B2)")

_SNIFF_CHARS = 64 * 1024
_DELIMITERS = ",\t;|"
# Excel's first-line hint naming the delimiter ("sep=;"), written by some
# exporters so that Excel opens the file right whatever its locale.
_SEPARATOR_HINT = re.compile(r"sep=(.)")
_ZIP_FORMATS = (FileFormat.XLSX, FileFormat.XLSB, FileFormat.ODS)
# What a web page's or an Excel 2003 XML file's cells merged down carry.
_ROWSPAN = re.compile(rb"(?i)rowspan")
_MERGE_DOWN = re.compile(rb"MergeDown")


@dataclass(frozen=True)
class RawRow:
    """One non-blank row: its 1-based number as Excel shows it, and its cells.

    `cells[i]` is column i (0 = A); empty cells are None; trailing empty
    cells are dropped. Spreadsheet values keep their type (int, float,
    datetime, bool); CSV cells are str.
    """

    number: int
    cells: list[object]


@dataclass(frozen=True)
class JsonRecord:
    """One JSON Lines object and the 1-based line it came from."""

    number: int
    data: dict[str, object]


@dataclass(frozen=True)
class Table:
    """An opened upload. `rows()` and `records()` re-read it on each call.

    An .xlsx stays open until `close()` (or the end of a `with` block).
    """

    format: FileFormat
    sheet_names: list[str]
    sheet: str | None = None
    hidden_sheets: list[str] = field(default_factory=list)  # of sheet_names
    encoding: str | None = None
    delimiter: str | None = None
    # A JSON document's: where its records are, for the next opening of the
    # same file (`open_table(layout=...)`).
    layout: Layout | None = None
    _rows: Callable[[], Iterator[RawRow]] | None = field(default=None, repr=False)
    _records: Callable[[], Iterator[JsonRecord | RowError]] | None = field(
        default=None, repr=False
    )
    _close: Callable[[], None] | None = field(default=None, repr=False)
    _size_hint: Callable[[], int] | None = field(default=None, repr=False)
    _merges: Callable[[], list[Merge]] | None = field(default=None, repr=False)

    @property
    def holds_records(self) -> bool:
        """JSON Lines or a JSON document: records, not rows of columns."""
        return self._records is not None

    def rows(self) -> Iterator[RawRow]:
        """Stream the non-blank rows of the chosen sheet (or of the CSV)."""
        if self._rows is None:
            raise TypeError("JSON files are read with records(), not rows()")
        return self._rows()

    def records(self) -> Iterator[JsonRecord | RowError]:
        """Stream JSON Lines objects; a malformed line yields a `RowError`."""
        if self._records is None:
            raise TypeError(f"{self.format} files are read with rows(), not records()")
        return self._records()

    def size_hint(self) -> int:
        """About how many rows or records there are (lines of a text file,
        the height of a sheet), for progress reports; 0 when unknown. Cheap:
        nothing is parsed."""
        return self._size_hint() if self._size_hint is not None else 0

    @property
    def can_merge_cells(self) -> bool:
        """Whether the format has merged cells that `merges` reads."""
        return self._merges is not None

    def merges(self) -> list[Merge]:
        """The sheet's merged ranges (.xlsx, .xlsb, .xls, .ods, a web page's
        rowspans, Excel 2003 XML's MergeDown); none for CSV and JSON. May
        read the whole file again: for the import run, not a preview."""
        return self._merges() if self._merges is not None else []

    def close(self) -> None:
        """Release the open workbook, if the format keeps one."""
        if self._close is not None:
            self._close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_table(
    source: Source,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    limits: Limits = DEFAULT_LIMITS,
    load_whole: bool = False,
    validated: bool = False,
    layout: Layout | None = None,
) -> Table:
    """Detect the format of an upload, run the safety checks and open it.

    Args:
        source: a path, or the uploaded bytes.
        encoding: for text files, a codec to use instead of detection.
        sheet: a sheet name or 0-based index; default the first visible one.
        limits: size caps; see `safety.Limits`.
        load_whole: an .xlsx may be loaded whole (python-calamine, bounded by
            `limits.max_fast_xlsx_cells`), and any loaded sheet is kept until `close()`
            for the next rows(): much faster when every row will be read,
            wasteful for a preview.
        validated: the file opened before, unchanged (a stored upload): a
            check that reads the whole of it only to refuse a damaged file
            before import is skipped where the sheet is named (Excel 2003
            XML's: ~4 s for 100,000 rows at every opening).
        layout: a JSON document's `Table.layout` from an opening of the same
            file, which then skips the pass over the whole document that
            finds it (~0.7 s for 25 MiB).

    Raises:
        ImportFileError: the file is not a readable table or breaks a limit.
    """
    file_format = detect_format(source, limits)
    if file_format in _ZIP_FORMATS:
        source = _checked_container(source, file_format, limits)
    if file_format is FileFormat.XLSX:
        strict = _strict_ooxml(source)
        whole = load_whole or strict or _parsed_whole_to_open(source)
        if whole and _fits_in_memory(source, limits):
            return _open_calamine(source, file_format, sheet, limits, keep=True)
        if strict:
            raise ImportFileError(
                "strict_too_big",
                messages.STRICT_TOO_BIG,
                limit=f"{limits.max_fast_xlsx_cells:,}",
            )
        return _open_xlsx(source, sheet, limits)
    if file_format in (FileFormat.XLS, FileFormat.XLSB, FileFormat.ODS):
        return _open_calamine(source, file_format, sheet, limits, keep=load_whole)
    if file_format is FileFormat.HTML:
        return _open_html(source, encoding, limits)
    if file_format is FileFormat.XML2003:
        return _open_spreadsheet_xml(source, sheet, limits, validated=validated)
    with open_source(source) as stream:
        text_encoding = resolve_encoding(stream, encoding)
    if file_format is FileFormat.JSON:
        return _open_json(source, text_encoding, limits, layout)
    if file_format is FileFormat.JSONL:
        return Table(
            format=file_format,
            sheet_names=[],
            encoding=text_encoding.codec,
            _records=lambda: _jsonl_records(source, text_encoding, limits),
            _size_hint=lambda: _count_lines(source, text_encoding),
        )
    delimiter = _sniff_delimiter(source, text_encoding)
    return Table(
        format=file_format,
        sheet_names=[],
        encoding=text_encoding.codec,
        delimiter=delimiter,
        _rows=lambda: _csv_rows(source, text_encoding, delimiter, limits),
        _size_hint=lambda: _count_lines(source, text_encoding),
    )


def _open_html(source: Source, encoding: str | None, limits: Limits) -> Table:
    with open_source(source) as stream:
        text_encoding = html_encoding(stream, encoding)
    return _parsed_table(
        source,
        limits,
        lambda stream: html_rows(stream, text_encoding, limits),
        ROW_TAG,
        format=FileFormat.HTML,
        sheet_names=[],
        encoding=text_encoding.codec,
        _merges=_parsed_merges(
            source,
            _ROWSPAN,
            lambda stream: html_merges(stream, text_encoding, limits),
        ),
    )


def _open_spreadsheet_xml(
    source: Source, sheet: str | int | None, limits: Limits, *, validated: bool
) -> Table:
    if validated and isinstance(sheet, str):
        found = spreadsheet_xml.Sheets([sheet], [sheet])  # rows() checks the name
    else:
        with open_source(source) as stream:
            found = spreadsheet_xml.sheets(stream)
    chosen = _pick_sheet(found.names, found.visible, sheet)
    return _parsed_table(
        source,
        limits,
        lambda stream: spreadsheet_xml.sheet_rows(stream, chosen, limits),
        spreadsheet_xml.ROW_TAG,
        format=FileFormat.XML2003,
        sheet_names=found.names,
        sheet=chosen,
        hidden_sheets=_hidden(found.names, found.visible),
        _merges=_parsed_merges(
            source,
            _MERGE_DOWN,
            lambda stream: spreadsheet_xml.sheet_merges(stream, chosen, limits),
        ),
    )


def _parsed_merges(
    source: Source, marker: re.Pattern[bytes], read: Callable[[BinaryIO], list[Merge]]
) -> Callable[[], list[Merge]]:
    """The merges a second parse of the file finds, if its bytes hold
    `marker` at all (most files: no second parse)."""

    def merges() -> list[Merge]:
        if not _count_matches(source, marker):
            return []
        with open_source(source) as stream:
            return read(stream)

    return merges


def _parsed_table(
    source: Source,
    limits: Limits,
    read: Callable[[BinaryIO], Iterable[tuple[int, list[object]]]],
    row_tag: re.Pattern[bytes],
    **table: object,
) -> Table:
    """A Table whose rows `read` parses from the file, opened anew each
    time; its size hint counts `row_tag` in the bytes."""

    def rows() -> Iterator[RawRow]:
        with open_source(source) as stream:
            for number, values in read(stream):
                if row := _finish_row(number, values, limits):
                    yield row

    return Table(
        **table, _rows=rows, _size_hint=lambda: _count_matches(source, row_tag)
    )


def _open_json(
    source: Source, encoding: TextEncoding, limits: Limits, layout: Layout | None
) -> Table:
    if layout is None:
        with open_source(source) as stream:
            layout = json_layout(stream, encoding, limits)
    elif layout.count > limits.max_rows:
        raise safety.too_many_rows(limits)
    return Table(
        format=FileFormat.JSON,
        sheet_names=[],
        encoding=encoding.codec,
        layout=layout,
        _records=lambda: _json_document_records(source, encoding, layout, limits),
        _size_hint=lambda: layout.count,
    )


def _finish_row(number: int, values: Iterable[object], limits: Limits) -> RawRow | None:
    """Normalise one row's cells; None for a blank row; enforce the caps."""
    if number > limits.max_rows:
        raise safety.too_many_rows(limits)
    cells = [None if _is_blank(value) else value for value in values]
    while cells and cells[-1] is None:
        cells.pop()
    if len(cells) > limits.max_columns:
        raise safety.too_many_columns(limits)
    return RawRow(number, cells) if cells else None


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _checked_container(
    source: Source, file_format: FileFormat, limits: Limits
) -> Source:
    """The container checked, as it is to be read: an .xlsb with compact
    cell records is read from a copy with them in full."""
    with open_source(source) as stream, zipfile.ZipFile(stream) as archive:
        safety.check_xml_parts(archive)
        if file_format is FileFormat.ODS:
            safety.check_ods_extent(archive, limits)
        if file_format is FileFormat.XLSB:
            extent = xlsb_cell_extent(archive)
            safety.check_extent(extent.rows, extent.columns, limits)
            if extent.compact:
                return xlsb_with_full_cells(archive)
    return source


def _hidden(names: list[str], visible: list[str]) -> list[str]:
    shown = set(visible)
    return [name for name in names if name not in shown]


def _pick_sheet(names: list[str], visible: list[str], sheet: str | int | None) -> str:
    if sheet is None:
        if not visible:
            raise ImportFileError("no_sheet", messages.NO_VISIBLE_SHEET)
        return visible[0]
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return names[sheet]
    elif sheet in names:
        return sheet
    raise sheet_not_found(sheet, names)


def _open_xlsx(source: Source, sheet: str | int | None, limits: Limits) -> Table:
    # The workbook stays open for the Table's life: loading it parses the
    # whole shared-strings part, the slowest step for a big sheet, and
    # callers read rows() twice (header detection, then the data).
    stream: BinaryIO = (
        io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
    )
    try:
        with _damaged_workbook():
            workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except ImportFileError:
        stream.close()
        raise

    def close() -> None:
        workbook.close()
        stream.close()

    names = [ws.title for ws in workbook.worksheets]
    visible = [ws.title for ws in workbook.worksheets if _visible(ws)]
    try:
        chosen = _pick_sheet(names, visible, sheet)
    except ImportFileError:
        close()
        raise
    # Read before rows() resets the dimensions (and it may lie: a hint only).
    declared = _declared_height(workbook, chosen)
    return Table(
        format=FileFormat.XLSX,
        sheet_names=names,
        sheet=chosen,
        hidden_sheets=_hidden(names, visible),
        _rows=lambda: _xlsx_rows(workbook, chosen, limits),
        _close=close,
        _size_hint=lambda: declared,
        _merges=lambda: _xlsx_merges(workbook, chosen, limits),
    )


def _declared_height(workbook: Workbook, sheet: str) -> int:
    # The <dimension> the writer declared: may be absent or wrong, which is
    # fine for a progress bar and nothing else.
    try:
        return int(workbook[sheet].max_row or 0)
    except Exception:
        return 0


def _xlsx_merges(workbook: Workbook, sheet: str, limits: Limits) -> list[Merge]:
    # The read-only workbook's archive and the sheet's part name: openpyxl
    # keeps both but does not read the part's merges in this mode.
    with _damaged_workbook():
        part = workbook[sheet]._worksheet_path
        return xlsx_merges(workbook._archive, part, limits.max_rows)


def _visible(worksheet: object) -> bool:
    return getattr(worksheet, "sheet_state", "visible") == "visible"


def _xlsx_rows(workbook: Workbook, sheet: str, limits: Limits) -> Iterator[RawRow]:
    with _damaged_workbook():
        worksheet = workbook[sheet]
        # The declared <dimension> may claim A1:XFD1048576; without this
        # openpyxl pads every row to 16,384 cells and the sheet to 1M rows.
        worksheet.reset_dimensions()
        values = worksheet.iter_rows(values_only=True)
        for number, row_values in enumerate(values, start=1):
            if row := _finish_row(number, row_values, limits):
                yield row


def _strict_ooxml(source: Source) -> bool:
    """Whether the workbook is saved as Strict Open XML (Excel's "Strict Open
    XML Spreadsheet"): ISO 29500 Strict names, which openpyxl does not read
    (it finds no sheet) and python-calamine does."""
    with open_source(source) as stream, zipfile.ZipFile(stream) as archive:
        try:
            with archive.open("xl/workbook.xml") as part:
                head = part.read(_SHEET_HEAD_BYTES)
        except (KeyError, *safety.ZIP_READ_ERRORS):
            return False  # the reader will say what is wrong with it
    return _STRICT_MAIN in head


_STRICT_MAIN = b"http://purl.oclc.org/ooxml/spreadsheetml/main"


def _parsed_whole_to_open(source: Source) -> bool:
    """Whether openpyxl would parse a worksheet whole just to open the
    workbook: in read-only mode it sizes each sheet by its <dimension>,
    which Excel, LibreOffice and WPS write but openpyxl's write-only mode
    (our own exports among its users) does not, and without it reads on to
    the end of <sheetData>. A preview of such a file is read faster by
    calamine (a 100,000-row sheet: ~5 s per opening with openpyxl, ~1 s
    loaded whole), within the same cell cap as an import run."""
    with open_source(source) as stream, zipfile.ZipFile(stream) as archive:
        for entry in archive.infolist():
            name = entry.filename.lower()
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            try:
                with archive.open(entry) as part:
                    head = part.read(_SHEET_HEAD_BYTES)
            except safety.ZIP_READ_ERRORS:
                return False  # openpyxl will say what is wrong with it
            data = head.find(b"sheetData")
            if b"dimension" not in (head if data < 0 else head[:data]):
                return True
    return False


# Enough of a worksheet part to hold what comes before <sheetData>.
_SHEET_HEAD_BYTES = 64 * 1024


def _fits_in_memory(source: Source, limits: Limits) -> bool:
    with open_source(source) as stream, zipfile.ZipFile(stream) as archive:
        extent = safety.xlsx_cell_extent(archive)
    if extent is None:
        return False
    height, width = extent
    # Over a row or column cap: let the streaming reader say which, and where.
    return (
        height <= limits.max_rows
        and width <= limits.max_columns
        and height * width <= min(limits.max_cells, limits.max_fast_xlsx_cells)
    )


def _open_calamine(
    source: Source,
    file_format: FileFormat,
    sheet: str | int | None,
    limits: Limits,
    *,
    keep: bool = False,
) -> Table:
    with _damaged_workbook(), _calamine(source) as workbook:
        names = list(workbook.sheet_names)
        visible = [
            meta.name
            for meta in workbook.sheets_metadata
            if meta.visible == SheetVisibleEnum.Visible
        ]
    chosen = _pick_sheet(names, visible, sheet)
    if not keep:
        return Table(
            format=file_format,
            sheet_names=names,
            sheet=chosen,
            hidden_sheets=_hidden(names, visible),
            _rows=lambda: _calamine_rows(_load_sheet(source, chosen), limits),
            _merges=lambda: _sheet_merges(source, file_format, chosen, limits),
        )
    # Loaded on the first rows() call and kept: callers read rows() several
    # times (header detection, date order, the data).
    loaded: list[CalamineSheet] = []

    def sheet() -> CalamineSheet:
        if not loaded:
            loaded.append(_load_sheet(source, chosen))
        return loaded[0]

    def rows() -> Iterator[RawRow]:
        return _calamine_rows(
            sheet(), limits, like_openpyxl=file_format is FileFormat.XLSX
        )

    return Table(
        format=file_format,
        sheet_names=names,
        sheet=chosen,
        hidden_sheets=_hidden(names, visible),
        _rows=rows,
        _close=loaded.clear,
        _size_hint=lambda: _sheet_height(loaded[0]) if loaded else 0,
        _merges=lambda: _sheet_merges(source, file_format, chosen, limits, sheet),
    )


@contextmanager
def _calamine(source: Source) -> Iterator[CalamineWorkbook]:
    # from_path() picks the reader by file extension; a file-like object makes
    # calamine sniff the content, which is what detection already trusted.
    with open_source(source) as stream:
        workbook = CalamineWorkbook.from_filelike(stream)
    with workbook:
        yield workbook


def _sheet_merges(
    source: Source,
    file_format: FileFormat,
    sheet: str,
    limits: Limits,
    loaded: Callable[[], CalamineSheet] | None = None,
) -> list[Merge]:
    # calamine tells an .xlsx's and an .xls's merges, not an .ods's nor an
    # .xlsb's.
    if file_format in (FileFormat.ODS, FileFormat.XLSB):
        read = ods_merges if file_format is FileFormat.ODS else xlsb_merges
        with _damaged_workbook(), open_source(source) as stream:
            with zipfile.ZipFile(stream) as archive:
                return read(archive, sheet, limits.max_rows)
    found = loaded() if loaded is not None else _load_sheet(source, sheet)
    return calamine_merges(found.merged_cell_ranges, limits.max_rows)


def _sheet_height(loaded: CalamineSheet) -> int:
    return loaded.end[0] + 1 if loaded.end is not None else 0


def _load_sheet(source: Source, sheet: str) -> CalamineSheet:
    with _damaged_workbook(), _calamine(source) as workbook:
        return workbook.get_sheet_by_name(sheet)


def _calamine_rows(
    loaded: CalamineSheet, limits: Limits, *, like_openpyxl: bool = False
) -> Iterator[RawRow]:
    if loaded.start is None or loaded.end is None:
        return
    end_row, end_column = loaded.end
    safety.check_extent(end_row + 1, end_column + 1, limits)
    padding: list[object] = [None] * loaded.start[1]
    # iter_rows() starts at row 0 but at the first used column.
    for number, values in enumerate(loaded.iter_rows(), start=1):
        if like_openpyxl:
            values = [_as_openpyxl(value) for value in values]
        if row := _finish_row(number, padding + values, limits):
            yield row


def _as_openpyxl(value: object) -> object:
    """A calamine .xlsx cell as openpyxl gives it, so that a sheet reads the
    same whichever reader took it: whole numbers as int (.xlsx stores no
    integer type; openpyxl reads "13800138000" as int), dates as datetime."""
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is date:
        return datetime(value.year, value.month, value.day)
    return value


@contextmanager
def _damaged_workbook() -> Iterator[None]:
    """Turn whatever a spreadsheet library raises on bad input into one error.

    openpyxl and python-calamine raise assorted exception types (KeyError,
    TypeError, zlib.error, their own errors...) on malformed files; for the
    uploader they all mean the same thing.
    """
    try:
        yield
    except ImportFileError:
        raise
    except PasswordError as exc:
        raise ImportFileError("encrypted", messages.ENCRYPTED) from exc
    except Exception as exc:
        raise ImportFileError(
            "corrupt_file", messages.UNREADABLE_WORKBOOK, detail=str(exc)
        ) from exc


def _sniff_delimiter(source: Source, encoding: TextEncoding) -> str:
    with open_source(source) as stream:
        lines = list(islice(_lines_up_to(iter_lines(stream, encoding)), 1000))
    if lines and (hint := _SEPARATOR_HINT.fullmatch(lines[0].strip("\r\n"))):
        return hint[1]
    sample = "".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        first = lines[0] if lines else ""
        counts = {delimiter: first.count(delimiter) for delimiter in _DELIMITERS}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else ","


def _lines_up_to(lines: Iterator[str]) -> Iterator[str]:
    size = 0
    for line in lines:
        yield line
        size += len(line)
        if size >= _SNIFF_CHARS:
            return


def _csv_rows(
    source: Source, encoding: TextEncoding, delimiter: str, limits: Limits
) -> Iterator[RawRow]:
    with open_source(source) as stream:
        reader = csv.reader(iter_lines(stream, encoding), delimiter=delimiter)
        try:
            for number, values in enumerate(reader, start=1):
                if number == 1 and _is_separator_hint(values, delimiter):
                    continue
                if values == [_DOS_END_OF_FILE]:  # old DOS programs' last line
                    continue
                if row := _finish_row(number, values, limits):
                    yield row
        except csv.Error as exc:
            raise ImportFileError(
                "malformed_csv",
                messages.MALFORMED_CSV,
                line=reader.line_num,
                detail=str(exc),
            ) from exc


_DOS_END_OF_FILE = "\x1a"


def _is_separator_hint(values: list[str], delimiter: str) -> bool:
    # "sep=;" read with ";" as the delimiter is ["sep=", ""].
    line = delimiter.join(values)
    return (hint := _SEPARATOR_HINT.fullmatch(line)) is not None and hint[
        1
    ] == delimiter


def _count_matches(source: Source, pattern: re.Pattern[bytes]) -> int:
    """How many times `pattern` occurs in the file's bytes (0 for UTF-16
    text, whose bytes are not scanned)."""
    count = 0
    tail = b""
    with open_source(source) as stream:
        if stream.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return 0
        stream.seek(0)
        while block := stream.read(4 * 1024 * 1024):
            block = tail + block
            end = 0
            for match in pattern.finditer(block):
                count += 1
                end = match.end()
            # Keep what may be the start of a match cut at the block's end,
            # never a part of one counted already.
            tail = block[max(end, len(block) - 16) :]
    return count


def _count_lines(source: Source, encoding: TextEncoding) -> int:
    # The last unit only: encoding a newline as UTF-16 may prepend a BOM.
    unit = -2 if "16" in encoding.codec else -1
    newline = encoding.newline.encode(encoding.codec)[unit:]
    lines = 0
    last = b""
    with open_source(source) as stream:
        while block := stream.read(4 * 1024 * 1024):
            lines += block.count(newline)
            last = block
    return lines + (1 if last and not last.endswith(newline) else 0)


def _jsonl_records(
    source: Source, encoding: TextEncoding, limits: Limits
) -> Iterator[JsonRecord | RowError]:
    with open_source(source) as stream:
        for number, line in enumerate(iter_lines(stream, encoding), start=1):
            if number > limits.max_rows:
                raise safety.too_many_rows(limits)
            if line.strip():
                yield _json_record(number, line, limits)


def _json_record(number: int, line: str, limits: Limits) -> JsonRecord | RowError:
    try:
        data = json.loads(line, parse_float=float_or_text, parse_constant=not_json)
    except (ValueError, RecursionError) as exc:
        return RowError(number, "malformed_json", f"Line {number} is not JSON: {exc}")
    return _record(checked_record(number, data, f"Line {number}", limits))


def _json_document_records(
    source: Source, encoding: TextEncoding, layout: Layout, limits: Limits
) -> Iterator[JsonRecord | RowError]:
    with open_source(source) as stream:
        for number, data in json_records(stream, encoding, layout, limits):
            yield _record(checked_record(number, data, f"Record {number}", limits))


def _record(checked: tuple[int, dict[str, object]] | RowError) -> JsonRecord | RowError:
    return checked if isinstance(checked, RowError) else JsonRecord(*checked)
