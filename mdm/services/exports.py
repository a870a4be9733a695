"""Exports of golden records (.xlsx, CSV) and of the cross-reference (CSV).

CSV is UTF-8 with a BOM so that Excel opens Chinese text correctly; every
text cell that could start a formula is neutralised.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from openpyxl import Workbook

from mdm.models import CrossReference, GoldenRecord
from mdm.models.audit import AuditEvent
from mdm.services.audit import audited, ref_fixed
from mdm.spreadsheet_safety import neutralise, xlsx_cell

GOLDEN_COLUMNS = [
    "golden_id",
    "legal_name",
    "short_name",
    "english_name",
    "uscc",
    "uscc_valid",
    "phones",
    "emails",
    "addresses",
    "contacts",
    "industry",
    "customer_level",
    "updated_at",
]
XREF_COLUMNS = ["source_system", "source_id", "golden_id", "linked_by", "active"]


def _golden_rows() -> Iterator[list[object]]:
    records = GoldenRecord.objects.filter(status=GoldenRecord.Status.ACTIVE).order_by(
        "golden_id"
    )
    for record in records.iterator(chunk_size=2000):
        yield [
            record.golden_id,
            record.legal_name,
            record.short_name,
            record.english_name,
            record.uscc,
            "" if record.uscc_valid is None else str(record.uscc_valid).lower(),
            "; ".join(record.phones),
            "; ".join(record.emails),
            "; ".join(_address_text(a) for a in record.addresses),
            "; ".join(c.get("name", "") for c in record.contacts if c.get("name")),
            record.industry,
            record.customer_level,
            record.updated_at.isoformat(),
        ]


def _xref_rows() -> Iterator[list[object]]:
    links = CrossReference.objects.select_related(
        "source_record__source_system", "golden"
    ).order_by("source_record__source_system__code", "source_record__source_id")
    for link in links.iterator(chunk_size=5000):
        record = link.source_record
        yield [
            record.source_system.code,
            record.source_id,
            link.golden.golden_id,
            link.method,
            str(record.is_active).lower(),
        ]


def _address_text(address: dict[str, str]) -> str:
    return "".join(
        address.get(p) or "" for p in ("province", "city", "district", "detail")
    )


def _csv(header: list[str], rows: Iterator[list[object]]) -> Iterator[bytes]:
    """Stream CSV as UTF-8 with a BOM, one chunk per row."""
    yield "\ufeff".encode()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in _prepend(header, rows):
        writer.writerow([neutralise(cell) for cell in row])
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()


def _prepend(header: list[str], rows: Iterator[list[object]]) -> Iterator[list[object]]:
    yield header
    yield from rows


@audited(
    AuditEvent.Action.EXPORT,
    on=ref_fixed("export", "golden_records.csv"),
    atomic=False,
)
def golden_records_csv() -> Iterator[bytes]:
    """Active golden records as CSV chunks."""
    return _csv(GOLDEN_COLUMNS, _golden_rows())


@audited(
    AuditEvent.Action.EXPORT,
    on=ref_fixed("export", "cross_reference.csv"),
    atomic=False,
)
def xref_csv() -> Iterator[bytes]:
    """(source system, source ID, golden ID) for every source record, as CSV."""
    return _csv(XREF_COLUMNS, _xref_rows())


@audited(
    AuditEvent.Action.EXPORT,
    on=ref_fixed("export", "golden_records.xlsx"),
    atomic=False,
)
def golden_records_xlsx() -> bytes:
    """Active golden records as an .xlsx workbook (streamed write)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("golden records")
    sheet.append(GOLDEN_COLUMNS)
    for row in _golden_rows():
        sheet.append([xlsx_cell(cell) for cell in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
