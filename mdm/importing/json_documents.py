"""Read the records of a JSON document, as exporters and APIs write them.

Besides JSON Lines (one object a line, `readers`), customer records come as
one JSON document: an array of objects; one object holding that array under
a key such as RECORDS (Navicat's export), data, rows or items, maybe one
level further in ({"code": 0, "data": {"list": [...], "total": 2}}); or
pretty-printed objects one after another (jq's output). Exports joined one
after the other (cat january.json february.json) are read whole. Each
object is a record, numbered from 1 in document order.

The document is streamed by ijson (yajl's C parser): a first pass checks
that it is well-formed, finds where the records are and counts them,
refusing a broken document before anything is imported; the second hands
out one record at a time. A document that is not UTF-8 (GB18030, UTF-16)
is transcoded on the way, after the strict check every text upload gets.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

import ijson

from mdm.importing import messages, safety
from mdm.importing.encodings import TextEncoding, iter_text
from mdm.importing.errors import ImportFileError, RowError
from mdm.importing.safety import Limits
from mdm.nul_characters import nul_path

# Keys under which exports and APIs put their list of records.
WRAPPER_KEYS = frozenset(
    {"records", "data", "rows", "items", "list", "result", "results", "value",
     "entries", "customers", "accounts", "datas", "content"}
)  # fmt: skip
_MAX_DEPTH = 64  # deeper than any record; a nesting bomb is refused
_READ_BYTES = 256 * 1024


@dataclass(frozen=True)
class Layout:
    """Where a document's records are: ijson's prefix of each record, and
    whether the document is several top-level values; how many there are."""

    prefix: str
    multiple_values: bool
    count: int
    # A number yajl's floating-point mode cannot read: an integer past 64
    # bits, or one beyond a float's range (1e400).
    exact_numbers: bool


def json_layout(stream: BinaryIO, encoding: TextEncoding, limits: Limits) -> Layout:
    """Check the whole document and find its records.

    Raises:
        ImportFileError: `malformed_json` (with ijson's description of where),
            `too_deep`, `no_records` for a document without any object, or
            `too_many_rows`.
    """
    prefix: str | None = None
    wrapper = False  # an array under wrapper keys was seen
    depth = 0
    count = 0
    values = 0  # at the top level: exports joined one after the other
    exact_numbers = False
    try:
        events = ijson.parse(_utf8(stream, encoding), multiple_values=True)
        for path, event, value in events:
            values += depth == 0
            if event == "number":
                exact_numbers = exact_numbers or _beyond_float_mode(value)
            elif event in ("start_map", "start_array"):
                depth += 1
                if depth > _MAX_DEPTH:
                    raise _too_deep()
                if event == "start_map" and prefix is None and _holds_records(path):
                    prefix = path
                count += event == "start_map" and path == prefix
                wrapper = wrapper or (event == "start_array" and _wraps(path))
            elif event in ("end_map", "end_array"):
                depth -= 1
                if event == "end_map" and path == "" and prefix is None:
                    if wrapper:
                        break  # an export wrapping an empty list
                    prefix, count = "", 1  # a top-level object is a record
    except ijson.JSONError as exc:
        raise ImportFileError(
            "malformed_json", messages.MALFORMED_JSON, detail=_first_line(exc)
        ) from exc
    if prefix is None or count == 0:
        raise ImportFileError("no_records", messages.NO_RECORDS)
    if count > limits.max_rows:
        raise safety.too_many_rows(limits)
    return Layout(prefix, prefix == "" or values > 1, count, exact_numbers)


def json_records(
    stream: BinaryIO, encoding: TextEncoding, layout: Layout, limits: Limits
) -> Iterator[tuple[int, object]]:
    """The values `json_layout` found, numbered from 1 (`checked_record`
    tells a record from what is not one)."""
    values = ijson.items(
        _utf8(stream, encoding),
        layout.prefix,
        multiple_values=layout.multiple_values,
        use_float=not layout.exact_numbers,
    )
    for number, value in enumerate(values, start=1):
        if number > limits.max_rows:
            raise safety.too_many_rows(limits)
        yield number, _floats(value) if layout.exact_numbers else value


def float_or_text(text: str) -> float | str:
    """A JSON number with a fraction or exponent as a float, or as its text
    when no float holds it (1e400): JSON has no infinity to store."""
    value = float(text)
    return value if math.isfinite(value) else text


def not_json(constant: str) -> None:
    """For `json.loads(parse_constant=...)`: NaN and Infinity are not JSON."""
    raise ValueError(f"{constant} is not a JSON value")


def _beyond_float_mode(value: object) -> bool:
    if isinstance(value, Decimal):
        return not math.isfinite(float(value))
    return isinstance(value, int) and not -(2**63) <= value < 2**63


def _floats(value: object) -> object:
    """`value` with the decimals ijson reads without floating-point mode as
    `float_or_text` reads them."""
    if isinstance(value, Decimal):
        return float_or_text(str(value))
    if isinstance(value, dict):
        return {key: _floats(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_floats(inner) for inner in value]
    return value


def checked_record(
    number: int, data: object, where: str, limits: Limits
) -> tuple[int, dict[str, Any]] | RowError:
    """A record as the importer takes it, or the row error that says why
    not: not an object, or a NUL character. Too many fields: refused."""
    if not isinstance(data, dict):
        return RowError(number, "not_an_object", f"{where} is JSON but not an object.")
    if len(data) > limits.max_columns:
        raise safety.too_many_columns(limits)
    if (path := nul_path(data)) is not None:
        return RowError(
            number,
            "nul_character",
            f"{where}: field {path} contains a NUL character (U+0000),"
            " which cannot be stored.",
        )
    return number, data


def wraps_records(value: dict[str, Any]) -> bool:
    """Whether an object holds a list of records under wrapper keys (an
    export's {"RECORDS": [...]}) rather than being a record itself."""
    for key, inner in value.items():
        if key.casefold() not in WRAPPER_KEYS:
            continue
        if isinstance(inner, list) and (not inner or isinstance(inner[0], dict)):
            return True
        if isinstance(inner, dict) and wraps_records(inner):
            return True
    return False


def _holds_records(path: str) -> bool:
    """Whether an object starting at `path` is a record: an item of the
    document's array, or of an array under wrapper keys ("RECORDS.item",
    "data.list.item")."""
    head, _, last = path.rpartition(".")
    return last == "item" and (not head or _wraps(head))


def _wraps(path: str) -> bool:
    # An array at `path` holds records: every key on the way a wrapper's.
    return bool(path) and all(
        part.casefold() in WRAPPER_KEYS for part in path.split(".")
    )


def _utf8(stream: BinaryIO, encoding: TextEncoding) -> BinaryIO:
    stream.seek(encoding.bom_length)
    if codecs.lookup(encoding.codec).name == "utf-8":
        return stream
    return _Transcoded(iter_text(stream, encoding, _READ_BYTES))


class _Transcoded:
    """A byte stream of UTF-8 from decoded text, for ijson's read().
    (codecs.StreamRecoder is no substitute: ijson would reach the file's own
    bytes through the attributes it passes on.)"""

    def __init__(self, texts: Iterator[str]) -> None:
        self._texts = texts
        self._pending = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._pending) < size:
            text = next(self._texts, None)
            if text is None:
                break
            self._pending += text.encode("utf-8")
        if size < 0:
            size = len(self._pending)
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk


def _too_deep() -> ImportFileError:
    return ImportFileError("too_deep", messages.TOO_DEEP, levels=_MAX_DEPTH)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
