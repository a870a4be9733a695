"""Read the rows of an HTML table: the "Excel" export of many web systems.

ERP and CRM report pages (Salesforce's "Export Details" in Excel format,
Yonyou and Kingdee web reports, in-house systems) save an HTML table under
an .xls name, and Excel opens it as a sheet; so does this reader. Each
`<tr>` is a row as Excel numbers it, each `<td>`/`<th>` a cell, colspan and
rowspan covering cells as merged cells do (the value in the first, the
covered ones empty), `<br>` a line break within the cell, other whitespace
collapsed as a browser shows it. A cell holding a table is empty and the
table's rows are rows of their own, so a page that wraps its data table in
a layout table is read. The rows of several tables follow one another, as
title tables above the data do.

The text is decoded by us (`html_encoding`: strict, as for CSV) and fed in
chunks to lxml's HTML parser (libxml2) with a parser target: no tree is
built, only the rows being read are kept, so memory stays flat whatever
the page holds.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from mdm.importing import messages, safety
from mdm.importing.encodings import TextEncoding, iter_text, resolve_encoding
from mdm.importing.errors import ImportFileError
from mdm.importing.merged_cells import Merge, MergeList
from mdm.importing.safety import Limits

_CELLS = ("td", "th")
_FEED_BYTES = 256 * 1024
# The HTML standard's caps on spans: bigger values count as these.
_MAX_COLSPAN = 1000
_MAX_ROWSPAN = 65534
# <meta charset="gbk"> or <meta http-equiv="Content-Type" content="...; charset=gbk">
_DECLARED = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
# Labels browsers read as GBK, which GB18030 extends (WHATWG Encoding).
_GBK_LABELS = {
    "chinese",
    "csgb2312",
    "csiso58gb231280",
    "gb18030",
    "gb2312",
    "gb_2312",
    "gb_2312-80",
    "gbk",
    "iso-ir-58",
    "x-gbk",
}
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# How a row starts in the page's bytes (progress counts them).
ROW_TAG = re.compile(rb"<tr[\s>]", re.I)


def html_encoding(stream: BinaryIO, override: str | None = None) -> TextEncoding:
    """The page's encoding: the user's choice, else a byte-order mark, else
    UTF-8 if the whole page decodes so (pages declaring GB2312 in a
    template's <meta> while written in UTF-8 are common, and GBK text is
    almost never valid UTF-8), else what its <meta> declares, else GB18030.
    Every byte must decode.

    Raises:
        ImportFileError: `bad_encoding`, as `resolve_encoding` does.
    """
    head = stream.read(safety.MIB)
    stream.seek(0)
    declared = _declared_codec(head)
    if override or head.startswith(_BOMS) or declared in (None, "utf-8", "gb18030"):
        return resolve_encoding(stream, override)
    for codec in ("utf-8", declared):
        try:
            return resolve_encoding(stream, codec)
        except ImportFileError:
            stream.seek(0)
    return resolve_encoding(stream)


def _declared_codec(head: bytes) -> str | None:
    found = _DECLARED.search(head)
    if found is None:
        return None
    label = found.group(1).decode("ascii").lower()
    if label in _GBK_LABELS:
        return "gb18030"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def html_rows(
    stream: BinaryIO, encoding: TextEncoding, limits: Limits
) -> Iterator[tuple[int, list[str | None]]]:
    """Each `<tr>`, in the order rows end: its 1-based number (in the order
    they start) and its cells' text (None for an empty or covered cell, or
    one holding a table), trailing empties included.

    Raises:
        ImportFileError: `no_table` for a page without any row, or
            `too_many_columns` for a row of more cells than the limit.
    """
    target = _Rows(limits)
    yield from _parsed(stream, encoding, target)
    if target.started == 0:
        raise ImportFileError("no_table", messages.NO_TABLE)


def html_merges(
    stream: BinaryIO, encoding: TextEncoding, limits: Limits
) -> list[Merge]:
    """The cells of the page's tables merged down (rowspan), as `Merge`s."""
    target = _Rows(limits)
    for _ in _parsed(stream, encoding, target):
        pass
    return target.merges


def _parsed(
    stream: BinaryIO, encoding: TextEncoding, target: _Rows
) -> Iterator[tuple[int, list[str | None]]]:
    parser = etree.HTMLParser(
        target=target, no_network=True, remove_comments=True, remove_pis=True
    )
    for text in iter_text(stream, encoding, _FEED_BYTES):
        parser.feed(text)
        yield from target.finished
        target.finished.clear()
    parser.close()
    yield from target.finished


@dataclass
class _Cell:
    colspan: int
    rowspan: int
    lines: list[str] = field(default_factory=lambda: [""])
    holds_table: bool = False

    def text(self) -> str | None:
        if self.holds_table:
            return None
        return "\n".join(" ".join(line.split()) for line in self.lines).strip() or None


@dataclass
class _Row:
    number: int
    cells: list[_Cell] = field(default_factory=list)


@dataclass
class _Table:
    spans: dict[int, int] = field(default_factory=dict)  # column -> rows covered
    rows: list[_Row] = field(default_factory=list)  # open rows (one, unless nested)


class _Rows:
    """A parser target (lxml calls it for each tag and text: no tree is
    built) that collects the rows as they end."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.started = 0
        self.finished: list[tuple[int, list[str | None]]] = []
        self.merges = MergeList(limits.max_rows)
        self._tables: list[_Table] = []
        self._cells: list[_Cell] = []  # open cells, innermost last

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == "table":
            if self._cells:
                self._cells[-1].holds_table = True
            self._tables.append(_Table())
        elif not self._tables:
            return
        elif tag == "tr":
            self.started += 1
            self._tables[-1].rows.append(_Row(self.started))
        elif tag in _CELLS and self._tables[-1].rows:
            row = self._tables[-1].rows[-1]
            if len(row.cells) >= self.limits.max_columns:
                raise safety.too_many_columns(self.limits)
            cell = _Cell(
                _span(attrib.get("colspan"), _MAX_COLSPAN),
                _span(attrib.get("rowspan"), _MAX_ROWSPAN),
            )
            row.cells.append(cell)
            self._cells.append(cell)
        elif tag == "br" and self._cells:
            self._cells[-1].lines.append("")

    def data(self, text: str) -> None:
        if self._cells:
            self._cells[-1].lines[-1] += text

    def end(self, tag: str) -> None:
        if tag in _CELLS and self._cells:
            self._cells.pop()
        elif tag == "tr" and self._tables and self._tables[-1].rows:
            table = self._tables[-1]
            row = table.rows.pop()
            values = _placed(row, table.spans, self.merges)
            self.finished.append((row.number, values))
        elif tag == "table" and self._tables:
            self._tables.pop()

    def close(self) -> None:
        return None


def _placed(row: _Row, spans: dict[int, int], merges: MergeList) -> list[str | None]:
    """The row's values by column: cells covered by a rowspan from above
    skipped, colspans covering the columns to their right; each rowspan
    told to `merges`."""
    values: list[str | None] = []
    for cell in row.cells:
        while spans.get(len(values)):
            _cover(spans, len(values))
            values.append(None)
        if cell.rowspan > 1:
            covered = range(len(values), len(values) + cell.colspan)
            spans.update(dict.fromkeys(covered, cell.rowspan - 1))
            merges.add(
                Merge(
                    row.number,
                    row.number + cell.rowspan - 1,
                    covered.start,
                    covered.stop - 1,
                )
            )
        values.append(cell.text())
        values.extend([None] * (cell.colspan - 1))
    for column in [k for k in spans if k >= len(values)]:
        _cover(spans, column)
    return values


def _cover(spans: dict[int, int], column: int) -> None:
    if spans[column] > 1:
        spans[column] -= 1
    else:
        del spans[column]


def _span(value: str | None, cap: int) -> int:
    try:
        return min(max(int((value or "1").strip()), 1), cap)
    except ValueError:
        return 1
