"""Read Excel 2003 XML ("XML Spreadsheet 2003", SpreadsheetML): one XML file
with every sheet, which Excel still opens and which report tools of that
era (and systems built on them) write under an .xls or .xml name.

A `<Row>` is a row, a `<Cell>` a cell; `ss:Index` on either skips to the
row or column it names, `ss:MergeAcross` covers cells to the right (the
value stays in the first, as for merged cells elsewhere); the cells a
`ss:MergeDown` covers are simply absent, the next cell naming its column.
`<Data ss:Type>` keeps its type: Number as int or float (so a phone number
is 13800138000, never 1.38e10), DateTime as datetime, Boolean as bool.

The file is parsed by lxml as it is read, into callbacks that keep only the
row being read (no tree is built: memory stays flat whatever the file
holds); entities are never expanded and a DTD is refused, as in every XML
part of an .xlsx.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import chain
from typing import BinaryIO

from lxml import etree

from mdm.importing import messages, safety
from mdm.importing.errors import ImportFileError, sheet_not_found
from mdm.importing.merged_cells import Merge, MergeList
from mdm.importing.safety import Limits

NAMESPACE = "urn:schemas-microsoft-com:office:spreadsheet"
_SS = f"{{{NAMESPACE}}}"
_EXCEL = "{urn:schemas-microsoft-com:office:excel}"
_FEED_BYTES = 256 * 1024
_WORKSHEET, _ROW, _CELL, _DATA = (
    f"{_SS}{name}" for name in ("Worksheet", "Row", "Cell", "Data")
)
_VISIBLE = f"{_EXCEL}Visible"
_HIDDEN = ("SheetHidden", "SheetVeryHidden")
# How a row starts in the file's bytes (progress counts them).
ROW_TAG = re.compile(rb"<(?:ss:)?Row[\s>/]")


@dataclass(frozen=True)
class Sheets:
    names: list[str]
    visible: list[str]


def sheets(stream: BinaryIO) -> Sheets:
    """The workbook's sheet names, and those not hidden, in order.

    Raises:
        ImportFileError: `xml_attack` for a DTD, `corrupt_file` for text
            that is not well-formed XML.
    """
    target = _Target(sheet=None, limits=safety.DEFAULT_LIMITS)
    for _ in _parsed(stream, target):
        pass
    names = target.names
    return Sheets(names, [name for name in names if name not in target.hidden])


def sheet_rows(
    stream: BinaryIO, sheet: str, limits: Limits
) -> Iterator[tuple[int, list[object]]]:
    """The rows of `sheet`, as `sheets()` names it: each one's 1-based
    number and its cells' values (None for an empty or covered cell).

    Raises:
        ImportFileError: as `sheets()`, or `sheet_not_found`.
    """
    target = _Target(sheet=sheet, limits=limits)
    yield from _parsed(stream, target)
    if sheet not in target.names:
        raise sheet_not_found(sheet, target.names)


def sheet_merges(stream: BinaryIO, sheet: str, limits: Limits) -> list[Merge]:
    """The cells of `sheet` merged down (`ss:MergeDown`), as `Merge`s."""
    target = _Target(sheet=sheet, limits=limits)
    for _ in _parsed(stream, target):
        pass
    return target.merges


def _parsed(stream: BinaryIO, target: _Target) -> Iterator[tuple[int, list[object]]]:
    # A parser target gets the elements as callbacks: no tree is built, so
    # nothing piles up whatever the file holds.
    parser = etree.XMLParser(
        target=target, resolve_entities=False, load_dtd=False, no_network=True
    )
    try:
        for chunk in chain(iter(partial(stream.read, _FEED_BYTES), b""), [None]):
            if chunk is None:
                parser.close()
            else:
                parser.feed(chunk)
            yield from target.rows
            target.rows.clear()
            if target.done:
                return
    except etree.XMLSyntaxError as exc:
        raise ImportFileError(
            "corrupt_file", messages.MALFORMED_XML2003, detail=str(exc)
        ) from exc


class _Target:
    """Collects the sheet names and, of `sheet`, the finished rows."""

    def __init__(self, sheet: str | None, limits: Limits) -> None:
        self.sheet = sheet
        self.limits = limits
        self.names: list[str] = []
        self.hidden: set[str] = set()
        self.rows: list[tuple[int, list[object]]] = []
        self.merges = MergeList(limits.max_rows)
        self.done = False  # the wanted sheet has ended
        self._wanted = False
        self._number = 0
        self._values: list[object] | None = None  # the open row's cells
        self._across = 0
        self._value: object = None
        self._kind: str | None = None
        self._text: list[str] | None = None  # an open <Data> or <Visible>

    def doctype(self, *_: object) -> None:
        # Entities are never expanded (resolve_entities=False), but no
        # spreadsheet needs a DTD: refused as in every part of an .xlsx.
        raise ImportFileError("xml_attack", messages.DTD_IN_FILE)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _WORKSHEET:
            name = _attribute(attrib, "Name") or f"Sheet{len(self.names) + 1}"
            self.names.append(name)
            self._wanted = name == self.sheet
        elif tag == _VISIBLE:
            self._text = []
        elif not self._wanted:
            return
        elif tag == _ROW:
            self._number = _index(attrib, "Index", self._number + 1)
            self._values = []
        elif tag == _CELL and self._values is not None:
            self._open_cell(self._values, attrib)
        elif tag == _DATA:
            self._kind = _attribute(attrib, "Type")
            self._text = []

    def _open_cell(self, values: list[object], attrib: dict[str, str]) -> None:
        column = _index(attrib, "Index", len(values) + 1)
        if column > self.limits.max_columns:
            raise safety.too_many_columns(self.limits)
        values.extend([None] * (column - 1 - len(values)))
        self._across = min(_index(attrib, "MergeAcross", 0), self.limits.max_columns)
        if (down := _index(attrib, "MergeDown", 0)) > 0:
            first = column - 1
            self.merges.add(
                Merge(self._number, self._number + down, first, first + self._across)
            )
        self._value = None

    def data(self, text: str) -> None:
        if self._text is not None:
            self._text.append(text)

    def end(self, tag: str) -> None:
        if tag == _VISIBLE and self._text is not None:
            if "".join(self._text).strip() in _HIDDEN and self.names:
                self.hidden.add(self.names[-1])
            self._text = None
        elif not self._wanted:
            return
        elif tag == _DATA and self._text is not None:
            self._value = _typed(self._kind, "".join(self._text))
            self._text = None
        elif tag == _CELL and self._values is not None:
            self._values.append(self._value)
            self._values.extend([None] * self._across)
        elif tag == _ROW and self._values is not None:
            self.rows.append((self._number, self._values))
            self._values = None
        elif tag == _WORKSHEET:
            self.done = True

    def close(self) -> None:
        return None


def _typed(kind: str | None, text: str) -> object:
    try:
        if kind == "Number":
            number = float(text)
            return (
                int(number) if number.is_integer() and abs(number) < 2**53 else number
            )
        if kind == "DateTime":
            return datetime.fromisoformat(text)
        if kind == "Boolean":
            return text.strip() == "1"
    except ValueError:
        pass  # kept as the text the file holds
    return text


def _index(attrib: dict[str, str], name: str, default: int) -> int:
    value = _attribute(attrib, name)
    try:
        return max(int(value), 0) if value is not None else default
    except ValueError:
        return default


def _attribute(attrib: dict[str, str], name: str) -> str | None:
    # Excel writes ss:Name; some generators leave the prefix out.
    return attrib.get(f"{_SS}{name}", attrib.get(name))
