"""Fuzz targets (RELIABILITY B9): each takes arbitrary bytes and may only end
normally or with the errors its interface declares. Anything else is a bug.

- `import_file`: the importer's reading layer, the way an upload goes:
  format detection, zip/XML safety checks, encoding detection, the reader,
  the header search and the mapping proposal, every row read.
- `ingest_json`: the ingest API's body handling: the strict JSON parser,
  the batch serializer, then per record the payload checks, the source-ID
  rules and the field mapping of every preset.

Run by bench/fuzz/run.py (atheris, coverage-guided) and, briefly, by the
test suite (tests/fuzz/).
"""

from __future__ import annotations

import io
from collections.abc import Callable

from rest_framework.exceptions import ParseError, ValidationError

from mdm.api.ingest import SourceRecordBatchApi
from mdm.api.parsers import StrictJSONParser
from mdm.importing import ImportFileError, Limits, open_table
from mdm.importing.headers import match_key, propose_columns, propose_mapping
from mdm.importing.record_columns import HEADER_ROW, record_keys, record_rows
from mdm.mapping_presets import PRESETS, payload_map
from mdm.services.errors import PayloadError
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
                for _, _row in zip(range(MAX_ROWS_READ), read, strict=False):
                    pass
                propose_columns(keys, header_row=HEADER_ROW, match=match_key)
                return
            rows = [
                row for _, row in zip(range(MAX_ROWS_READ), table.rows(), strict=False)
            ]
            propose_mapping(rows)
    except ImportFileError:
        return


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
