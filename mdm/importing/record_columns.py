"""JSON records read as the rows of a sheet, their keys its header.

A source system's field mapping reads the records its own system exports
(FNumber, FName for Kingdee). A database dump or an API page from any other
program (Navicat's export of a home-grown customer table: customer_code,
customer_name, tax_no, ...) is mapped like a spreadsheet instead: its keys
are the header, found by the same synonyms and confirmed by the importer.

Nested objects become dotted keys ("contact.phone"); a list of plain values
one cell ("a; b", as a sheet holds several phones); anything else in a list
its JSON text. The header is the keys of all the records, in the order
first seen (`record_keys`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice

from mdm.importing import safety
from mdm.importing.errors import RowError
from mdm.importing.readers import JsonRecord, RawRow, Table
from mdm.importing.safety import Limits

# The header's row number: records are numbered from 1 (JSON Lines by line).
HEADER_ROW = 0
_LIST_SEPARATOR = "; "


def record_rows(table: Table, keys: list[str]) -> Iterator[RawRow | RowError]:
    """The header row (`HEADER_ROW`) of `keys`, then each record as a row of
    its values under them; a record that is not one (`RowError`) as it is."""
    yield RawRow(HEADER_ROW, list(keys))
    for item in table.records():
        if isinstance(item, RowError):
            yield item
            continue
        flat = flat_record(item.data)
        yield RawRow(item.number, [flat.get(key) for key in keys])


def record_keys(
    records: Iterable[JsonRecord | RowError], limits: Limits, first: int | None = None
) -> list[str]:
    """The flattened keys of the records (of the `first` ones only), first
    seen first.

    Raises:
        ImportFileError: `too_many_columns` past `limits.max_columns` keys.
    """
    keys: dict[str, None] = {}
    for item in islice(records, first):
        if isinstance(item, JsonRecord):
            keys.update(dict.fromkeys(flat_record(item.data)))
            if len(keys) > limits.max_columns:
                raise safety.too_many_columns(limits)
    return list(keys)


def flat_record(data: dict[str, object], prefix: str = "") -> dict[str, object]:
    """A record's values by dotted key (see the module docstring)."""
    flat: dict[str, object] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_record(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = _list_cell(value)
        else:
            flat[name] = value
    return flat


def _list_cell(values: list[object]) -> str | None:
    if any(isinstance(value, dict | list) for value in values):
        return json.dumps(values, ensure_ascii=False)
    texts = [_text(value) for value in values if value is not None and value != ""]
    return _LIST_SEPARATOR.join(texts) or None


def _text(value: object) -> str:
    # pandas writes a whole-number column with gaps as floats: 13800138000.0.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
