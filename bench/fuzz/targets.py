"""Fuzz targets (RELIABILITY B9): each takes arbitrary bytes and may only end
normally or with the errors its interface declares. Anything else is a bug.

- `import_file`: the importer's reading layer, the way an upload goes:
  format detection, zip/XML safety checks, encoding detection, the reader,
  the header search and the mapping proposal, every row read, and each row
  below the header checked and cleaned as an import does (not written).
- `ingest_json`: the ingest API's body handling: the strict JSON parser,
  the batch serializer, then per record the payload checks, the source-ID
  rules and the field mapping of every preset.

Run by bench/fuzz/run.py (atheris, coverage-guided) and, briefly, by the
test suite (tests/fuzz/).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from itertools import islice

from rest_framework.exceptions import ParseError, ValidationError

from mdm.api.ingest import SourceRecordBatchApi
from mdm.api.parsers import StrictJSONParser
from mdm.importing import ImportFileError, Limits, RawRow, open_table
from mdm.importing.headers import (
    ProposedMapping,
    header_line_check,
    match_key,
    propose_columns,
    propose_mapping,
)
from mdm.importing.merged_cells import Merge
from mdm.importing.record_columns import HEADER_ROW, record_keys, record_rows
from mdm.importing.summary_rows import summary_row_label
from mdm.importing.values import cell_cleaner
from mdm.mapping_presets import PRESETS, payload_map
from mdm.services.errors import PayloadError
from mdm.services.merged_rows import MergedFill
from mdm.services.source_records import clean_source_id, payload_parse

# Small caps so a fuzz input cannot make one run slow; the checks are the
# same as in production.
FUZZ_LIMITS = Limits(
    max_file_bytes=1 << 20,
    max_uncompressed_bytes=4 << 20,
    max_rows=2_000,
    max_columns=64,
    max_cells=50_000,
)
MAX_ROWS_READ = 200


def import_file(data: bytes) -> None:
    try:
        with open_table(data, limits=FUZZ_LIMITS) as table:
            if table.holds_records:
                # Read as columns too, as records no field mapping reads are.
                keys = record_keys(table.records(), FUZZ_LIMITS)
                read = record_rows(table, keys)
                records = [
                    r for r in islice(read, MAX_ROWS_READ) if isinstance(r, RawRow)
                ]
                mapping = propose_columns(keys, header_row=HEADER_ROW, match=match_key)
                _clean(records, mapping, [])
                return
            rows = list(islice(table.rows(), MAX_ROWS_READ))
            _clean(rows, propose_mapping(rows), table.merges())
    except ImportFileError:
        return


def _clean(rows: list[RawRow], mapping: ProposedMapping, merges: list[Merge]) -> None:
    """What the import does with each row below the header, but the write:
    merged cells filled, lines that are no customer told, cells cleaned."""
    columns = [(c.index, c.header, c.field) for c in mapping.columns if c.field]
    cleaners = [(i, cell_cleaner(field, column=h)) for i, h, field in columns]
    header_line = header_line_check(columns)
    fill = MergedFill(merges, header_row=mapping.header_row, columns=columns)
    for row in rows:
        if row.number <= mapping.header_row:
            continue
        row, _ = fill.filled(row)
        summary_row_label(row.cells)
        header_line(row.cells)
        for index, clean in cleaners:
            clean(row.cells[index] if index < len(row.cells) else None)


def ingest_json(data: bytes) -> None:
    try:
        body = StrictJSONParser().parse(
            io.BytesIO(data), "application/json", {"encoding": "utf-8"}
        )
    except ParseError:
        return
    serializer = SourceRecordBatchApi.InputSerializer(data=body)
    try:
        serializer.is_valid(raise_exception=True)
    except ValidationError:
        return
    for item in serializer.validated_data["records"]:
        try:
            clean_source_id(item["source_id"])
            payload, _fingerprint = payload_parse(item["payload"])
        except PayloadError:
            continue
        for preset in PRESETS:
            payload_map(payload, preset)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "import_file": import_file,
    "ingest_json": ingest_json,
}
