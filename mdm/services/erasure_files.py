"""Erasure in the stored upload files of imports (mdm/services/erasure.py).

A CSV or JSON Lines file that holds an erased identifier is rewritten with
the identifier replaced, in its own encoding; a spreadsheet (.xlsx, .xlsb,
.xls, .ods) that holds one is deleted, since it cannot be rewritten faithfully.
The import job row stays either way (counts, who, when, file name, hash).
"""

from __future__ import annotations

import logging
import re

from django.core.files.base import ContentFile
from python_calamine import CalamineWorkbook

from mdm.models import ImportJob

logger = logging.getLogger(__name__)

ERASED = "[erased]"
# Uploads stored as text (web pages and Excel 2003 XML too): rewritten with
# the numbers replaced; other workbooks are deleted if they hold one.
_TEXT_FORMATS = {"csv", "json", "jsonl", "txt", "tsv", "html", "xml2003"}


def import_files_scrub(pattern: re.Pattern[str] | None) -> dict[str, int]:
    """Rewrite or delete every stored upload that `pattern` finds a match
    in; return how many of each."""
    counts = dict.fromkeys(
        ("import files rewritten", "import files deleted", "import files unreadable"),
        0,
    )
    if pattern is None:
        return counts
    for job in ImportJob.objects.exclude(file="").iterator():
        storage = job.file.storage
        if not storage.exists(job.file.name):
            continue
        if job.format in _TEXT_FORMATS:
            outcome = _rewrite_text(job, pattern)
        else:
            outcome = _delete_spreadsheet(job, pattern)
        if outcome:
            counts[f"import files {outcome}"] += 1
    return counts


def _rewrite_text(job: ImportJob, pattern: re.Pattern[str]) -> str | None:
    with job.file.open("rb") as handle:
        content = handle.read()
    decoded = _decode(content, job.encoding)
    if decoded is None:
        return "unreadable"
    text, encoding = decoded
    scrubbed = pattern.sub(ERASED, text)
    if scrubbed == text:
        return None
    name = job.file.name
    job.file.storage.delete(name)
    saved = job.file.storage.save(name, ContentFile(scrubbed.encode(encoding)))
    if saved != name:
        ImportJob.objects.filter(file=name).update(file=saved)
    return "rewritten"


def _delete_spreadsheet(job: ImportJob, pattern: re.Pattern[str]) -> str | None:
    try:
        # From the content: the stored name keeps the upload's suffix, which
        # may mislead (an .xlsb uploaded as .xlsx), and from_path trusts it.
        with job.file.open("rb") as handle:
            book = CalamineWorkbook.from_filelike(handle)
        found = any(
            pattern.search(_cell_text(cell))
            for sheet in book.sheet_names
            for row in book.get_sheet_by_name(sheet).to_python()
            for cell in row
        )
    except Exception as exc:
        # Left alone, not deleted: it may be another customer's file; the
        # operator sees it in the erasure's counts.
        logger.warning("import %s: file unreadable (%s)", job.pk, type(exc).__name__)
        return "unreadable"
    return _delete(job) if found else None


def _delete(job: ImportJob) -> str:
    job.file.storage.delete(job.file.name)
    # The imports of the workbook's other sheets share the stored file.
    ImportJob.objects.filter(file=job.file.name).update(file="")
    return "deleted"


def _cell_text(cell: object) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return "" if cell is None else str(cell)


def _decode(content: bytes, encoding: str) -> tuple[str, str] | None:
    candidates = [encoding] if encoding else []
    candidates += ["utf-8-sig" if content.startswith(b"\xef\xbb\xbf") else "utf-8"]
    candidates += ["gb18030"]
    for candidate in candidates:
        try:
            return content.decode(candidate), candidate
        except (LookupError, UnicodeDecodeError):
            continue
    return None
