"""Read the rows of an HTML table: the "Excel" export of many web systems.

ERP and CRM report pages (Salesforce's "Export Details" in Excel format,
Yonyou and Kingdee web reports, in-house systems) save an HTML table under
an .xls name, and Excel opens it as a sheet; so does this reader. Each
`<tr>` is a row as Excel numbers it, each `<td>`/`<th>` a cell, colspan and
rowspan covering cells as merged cells do (the value in the first, the
covered ones empty), `<br>` a line break within the cell, other whitespace
collapsed as a browser shows it. A table inside a cell is layout, not data:
its rows are skipped and the cell is empty. The rows of several tables
follow one another, as title tables above the data do.

The text is decoded by us (`html_encoding`: strict, as for CSV) and fed in
chunks to lxml's HTML parser (libxml2); each row is dropped from the tree
once read, and so is everything outside the tables, so memory stays flat
whatever the size of the page.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from lxml import etree

from mdm.importing import safety
from mdm.importing.encodings import TextEncoding, iter_text, resolve_encoding
from mdm.importing.errors import ImportFileError
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
_ROW_START = re.compile(rb"<tr[\s>]", re.I)


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
    """Each top-level `<tr>`: its 1-based number and its cells' text (None
    for an empty or covered cell), trailing empties included.

    Raises:
        ImportFileError: `no_table` for a page without any row, or
            `too_many_columns` for a row of more cells than the limit.
    """
    spans: dict[int, int] = {}  # column -> rows below still covered by a rowspan
    table = None
    number = 0
    for row in _parsed_rows(iter_text(stream, encoding, _FEED_BYTES), limits):
        if row.getparent() is not table:
            table, spans = row.getparent(), {}
        number += 1
        yield number, _cells(row, spans)
        _drop(row)
    if number == 0:
        raise ImportFileError(
            "no_table",
            "This file is a web page (HTML) without a table row that could be "
            "read, so there is nothing to import. Export the data as a table "
            "or as .xlsx.",
        )


def count_html_rows(stream: BinaryIO, encoding: TextEncoding) -> int:
    """How many `<tr>` tags the page has (nested tables' included), for
    progress; 0 for a UTF-16 page, whose bytes are not scanned."""
    if "16" in encoding.codec:
        return 0
    rows = 0
    tail = b""
    while block := stream.read(4 * safety.MIB):
        block = tail + block
        rows += len(_ROW_START.findall(block))
        # A tag cut in two at the end; no counted tag ends in these 3 bytes
        # with a "<" among them, so none is counted twice.
        tail = block[-3:]
    return rows


def _parsed_rows(texts: Iterable[str], limits: Limits) -> Iterator[etree._Element]:
    parser = etree.HTMLPullParser(
        events=("end",), no_network=True, remove_comments=True, remove_pis=True
    )
    for text in texts:
        parser.feed(text)
        yield from _ended(parser, limits)
    parser.close()
    yield from _ended(parser, limits)


def _ended(parser: etree.HTMLPullParser, limits: Limits) -> Iterator[etree._Element]:
    """The rows the parser has finished; everything else outside a row is
    dropped as it ends, and a row's cells are counted as they end."""
    for _, element in parser.read_events():
        tag = element.tag
        if tag == "tr":
            if next(element.iterancestors(*_CELLS), None) is None:
                yield element
        elif tag in _CELLS:
            row = element.getparent()
            if row is not None and len(row) > limits.max_columns:
                raise safety.too_many_columns(limits)
        elif next(element.iterancestors("tr"), None) is None:
            _drop(element)


def _drop(element: etree._Element) -> None:
    """Free an element that has been read, and the siblings before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _cells(row: etree._Element, spans: dict[int, int]) -> list[str | None]:
    values: list[str | None] = []
    for cell in row:
        if cell.tag not in _CELLS:
            continue
        while spans.get(len(values)):
            _cover(spans, len(values))
            values.append(None)
        colspan = _span(cell.get("colspan"), _MAX_COLSPAN)
        rowspan = _span(cell.get("rowspan"), _MAX_ROWSPAN)
        if rowspan > 1:
            covered = range(len(values), len(values) + colspan)
            spans.update(dict.fromkeys(covered, rowspan - 1))
        values.append(_text(cell))
        values.extend([None] * (colspan - 1))
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


def _text(cell: etree._Element) -> str | None:
    if next(cell.iter("table"), None) is not None:
        return None
    lines = [""]
    for piece in _pieces(cell):
        if piece is None:
            lines.append("")
        else:
            lines[-1] += piece
    return "\n".join(" ".join(line.split()) for line in lines).strip() or None


def _pieces(element: etree._Element) -> Iterator[str | None]:
    """The element's text in document order, None for each <br>."""
    if element.text:
        yield element.text
    for child in element:
        if child.tag == "br":
            yield None
        else:
            yield from _pieces(child)
        if child.tail:
            yield child.tail
