"""The per-row error report of an import, as an .xlsx file."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from mdm.models import ImportJob
from mdm.spreadsheet_safety import xlsx_cell

HEADERS = ["row", "column", "code", "reason", "original values"]


def import_error_report(*, job: ImportJob) -> bytes:
    """One line per rejected cell or row: original row number, column, code,
    reason, and the row's original values (neutralised against formulas,
    without the control characters an .xlsx cell cannot hold)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("errors")
    sheet.append(HEADERS)
    for error in job.row_errors.all().iterator():
        sheet.append(
            [error.row, xlsx_cell(error.column), error.code, xlsx_cell(error.message)]
            + [xlsx_cell(v) for v in error.values]
        )
    for index in range(1, len(HEADERS) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
