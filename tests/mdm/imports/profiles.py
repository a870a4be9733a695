"""Files and profiles for the import-profile tests, built with the real services."""

from __future__ import annotations

import io

from openpyxl import Workbook

from mdm.models import ImportJob, ImportProfile, SourceSystem
from mdm.services.import_profiles import (
    import_job_confirm_with_profile,
    import_job_create_with_profile,
)
from tests.mdm.imports.test_import_service import HEADER, ROWS

# The columns of ROWS with 地址 ignored, as an importer would confirm them.
MAPPING = {
    "客户编号": "source_id",
    "客户名称": "legal_name",
    "联系电话": "phones",
    "税号": "uscc",
    "地址": None,
    "录入日期": "created",
}


def csv_bytes(header=HEADER, rows=ROWS, encoding="gbk") -> bytes:
    lines = [",".join(header)] + [",".join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def workbook(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, lines in sheets.items():
        sheet = book.create_sheet(title)
        for line in lines:
            sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def legacy() -> SourceSystem:
    return SourceSystem.objects.get(code="legacy")


def save_profile(
    name="月度客户", content=None, mapping=MAPPING, **create
) -> ImportProfile:
    """A profile saved the way an importer saves one: confirm, then keep."""
    job = import_job_create_with_profile(
        system=legacy(),
        content=content or csv_bytes(),
        filename="客户.csv",
        profile=None,
        **create,
    )
    return import_job_confirm_with_profile(job=job, mapping=mapping, save_as=name)


def upload(content: bytes, **options) -> ImportJob:
    return import_job_create_with_profile(
        system=legacy(), content=content, filename="客户.csv", **options
    )
