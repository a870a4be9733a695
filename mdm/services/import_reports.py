"""The per-row error report of an import, as an .xlsx file, in the active
language: what each kind of rejection means, next to the reader's detailed
reason (English, with the row's own values)."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from mdm.models import ImportJob
from mdm.spreadsheet_safety import xlsx_cell

# What each code of a rejected row or cell means.
PROBLEMS = {
    "missing_name": gettext_lazy("The customer name is empty."),
    "missing_id": gettext_lazy("The record has no source ID."),
    "bad_date": gettext_lazy("A date that cannot be read."),
    "bad_uscc": gettext_lazy(
        "Not a valid unified social credit code (tax ID): its check digit or "
        "form is wrong."
    ),
    "bad_phones": gettext_lazy("A phone number that cannot be read."),
    "bad_source_id": gettext_lazy("An ID that cannot be read."),
    "rejected": gettext_lazy("The record was refused: see the reason."),
    "merged_conflict": gettext_lazy(
        "The row continues the customer above but differs from it in a column "
        "that holds one value."
    ),
    "merged_with_rejected": gettext_lazy(
        "The row continues a customer whose first row was rejected."
    ),
    "summary_row": gettext_lazy("A totals, sign-off or note line, not a customer."),
    "header_row": gettext_lazy(
        "The column names again, or a template's note on the columns, not a "
        "customer."
    ),
    "malformed_json": gettext_lazy("The line is not valid JSON."),
    "not_an_object": gettext_lazy("The line is not a JSON object (a record)."),
    "nul_character": gettext_lazy("The record holds a NUL character."),
}
OTHER_BAD_VALUE = gettext_lazy("A value this column cannot take: see the reason.")


def import_error_report(*, job: ImportJob) -> bytes:
    """One line per rejected cell or row: original row number, column, code,
    what it means, the detailed reason, and the row's original values
    (neutralised against formulas, without the control characters an .xlsx
    cell cannot hold)."""
    headers = [
        _("row"),
        _("column"),
        _("code"),
        _("problem"),
        _("reason"),
        _("original values"),
    ]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("errors"))
    sheet.append(headers)
    for error in job.row_errors.all().iterator():
        sheet.append(
            [
                error.row,
                xlsx_cell(error.column),
                error.code,
                str(_problem(error.code)),
                xlsx_cell(error.message),
            ]
            + [xlsx_cell(v) for v in error.values]
        )
    for index in range(1, len(headers) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _problem(code: str) -> str:
    if code in PROBLEMS:
        return PROBLEMS[code]
    return OTHER_BAD_VALUE if code.startswith("bad_") else ""
