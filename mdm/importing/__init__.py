"""The file-reading layer of the bulk importer.

Turns an uploaded file into a stream of rows with a proposed column mapping;
validation and upserts belong to the import service. Plain Python, no ORM.
"""

from __future__ import annotations

from mdm.importing.errors import CellError, ImportFileError, RowError
from mdm.importing.formats import FileFormat
from mdm.importing.readers import JsonRecord, RawRow, Table, open_table
from mdm.importing.safety import Limits

__all__ = [
    "CellError",
    "FileFormat",
    "ImportFileError",
    "JsonRecord",
    "Limits",
    "RawRow",
    "RowError",
    "Table",
    "open_table",
]
