"""`manage.py import_customers FILE --source legacy`: load a customer file."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from mdm.importing import ImportFileError
from mdm.models import ImportJob, SourceSystem
from mdm.services.errors import DomainError
from mdm.services.import_reports import import_error_report
from mdm.services.imports import import_job_confirm, import_job_create, import_job_run


class Command(BaseCommand):
    help = (
        "Import customers from .xlsx, .xls, .ods, .csv (UTF-8/GBK/GB18030) or "
        "JSON Lines. The column mapping is proposed from the headers; pass "
        "--mapping to use a saved one."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", required=True, help="source system code")
        parser.add_argument("--encoding", help="override CSV encoding detection")
        parser.add_argument("--sheet", help="sheet name (default: the first visible)")
        parser.add_argument(
            "--mapping", type=Path, help='JSON file {"header": "field" or null}'
        )
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="write nothing if any row is invalid",
        )
        parser.add_argument("--no-match", action="store_true", help="skip matching")
        parser.add_argument(
            "--errors-out", type=Path, help="write the .xlsx error report"
        )

    def handle(self, *args, **opts) -> None:
        system = SourceSystem.objects.filter(code=opts["source"]).first()
        if system is None:
            raise CommandError(f"Unknown source system {opts['source']!r}.")
        try:
            job = import_job_create(
                system=system,
                content=opts["file"].read_bytes(),
                filename=opts["file"].name,
                encoding=opts["encoding"],
                sheet=opts["sheet"],
                mode=(
                    ImportJob.Mode.ALL_OR_NOTHING
                    if opts["all_or_nothing"]
                    else ImportJob.Mode.PER_ROW
                ),
                run_matching=not opts["no_match"],
            )
            mapping = (
                json.loads(opts["mapping"].read_text("utf-8"))
                if opts["mapping"]
                else job.mapping
            )
            self._show_mapping(job, mapping)
            import_job_confirm(job=job, mapping=mapping)
            job = self._run(job)
        except (ImportFileError, DomainError, OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self._report(job, opts["errors_out"])

    def _show_mapping(self, job: ImportJob, mapping: dict) -> None:
        self.stdout.write(f"{job.format} file, header row {job.header_row or '-'}")
        for header, field in mapping.items():
            self.stdout.write(f"  {header!s:>20} -> {field or '(ignored)'}")

    def _run(self, job: ImportJob) -> ImportJob:
        with tqdm(total=0, unit="row", desc="import") as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            return import_job_run(job=job, progress=progress)

    def _report(self, job: ImportJob, errors_out: Path | None) -> None:
        summary = (
            f"{job.created_count} created, {job.updated_count} updated, "
            f"{job.unchanged_count} unchanged, {job.failed_count} rejected"
        )
        if errors_out and job.failed_count:
            errors_out.write_bytes(import_error_report(job=job))
            summary += f"; error report: {errors_out}"
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(f"{job.error} ({summary})")
        self.stdout.write(self.style.SUCCESS(summary))
