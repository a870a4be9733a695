"""What an import reads from an opened upload: a sheet's rows, or JSON
records, which are read either by the source system's field mapping (its
own export) or as columns like a sheet (another program's records,
`mdm.importing.record_columns`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from mdm.importing import JsonRecord, Limits, RawRow, RowError, Table
from mdm.importing.headers import (
    ProposedMapping,
    match_key,
    propose_columns,
    propose_mapping,
)
from mdm.importing.record_columns import HEADER_ROW, record_keys, record_rows
from mdm.mapping_presets import payload_mapper, scalar_text
from mdm.models import SourceSystem

# Records the source system's field mapping is tried on, to tell its own
# exports from other programs' (read as columns).
PRESET_SCAN_RECORDS = 100
# Records whose keys order a job's columns (`record_header`).
JOB_SCAN_RECORDS = 1000


def preset_reads_records(system: SourceSystem, table: Table) -> bool:
    """Whether the records of `table` are the system's own: its field mapping
    finds a source ID and a name in most of the first ones (or there is no
    record to tell). Other records are read as columns (`record_rows`)."""
    if not table.holds_records:
        return False
    rules = system.mapping_rules
    mapped = payload_mapper(rules)
    sample = [
        item.data
        for item in islice(table.records(), PRESET_SCAN_RECORDS)
        if isinstance(item, JsonRecord)
    ]
    read = sum(
        record_source_id(data, rules["source_id"]) is not None
        and _names_one(mapped(data).attributes)
        for data in sample
    )
    return 2 * read > len(sample) or not sample


def record_source_id(data: dict[str, Any], id_fields: list[str]) -> str | None:
    """The first of a record's ID fields that gives text."""
    texts = (scalar_text(data.get(field)) for field in id_fields)
    return next((text for text in texts if text), None)


def proposed_mapping(
    system: SourceSystem, table: Table, limits: Limits
) -> ProposedMapping | None:
    """The column mapping to confirm: a sheet's header row, or the keys of
    records read as columns; None for records the field mapping reads."""
    if not table.holds_records:
        return propose_mapping(table.rows())
    if preset_reads_records(system, table):
        return None
    keys = record_header(table, limits)
    return propose_columns(keys, header_row=HEADER_ROW, match=match_key)


def record_header(
    table: Table, limits: Limits, known: Iterable[str] | None = None
) -> list[str]:
    """The columns of records read as columns: the keys of every record.

    For a job whose column mapping (`known`: its keys are the columns it was
    proposed) is set, the keys of the first `JOB_SCAN_RECORDS` records, then
    the mapping's others: the same columns without a pass over the file.
    """
    if known is None:
        return record_keys(table.records(), limits)
    keys = record_keys(table.records(), limits, first=JOB_SCAN_RECORDS)
    seen = set(keys)
    return keys + [key for key in known if key not in seen]


def table_rows(
    table: Table, limits: Limits, known: Iterable[str] | None = None
) -> Iterator[RawRow]:
    """The rows of a sheet, or of records read as columns (`record_header`
    with `known`), header included."""
    rows = rows_and_errors(table, limits, known)
    return (row for row in rows if isinstance(row, RawRow))


def rows_and_errors(
    table: Table, limits: Limits, known: Iterable[str] | None = None
) -> Iterator[RawRow | RowError]:
    """`table_rows`, with the records that are not one (`RowError`)."""
    if table.holds_records:
        return record_rows(table, record_header(table, limits, known))
    return table.rows()


def _names_one(attributes: dict[str, Any]) -> bool:
    return any(attributes.get(f) for f in ("legal_name", "short_name", "english_name"))
