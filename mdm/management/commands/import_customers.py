"""`manage.py import_customers FILE --source legacy`: load a customer file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from mdm.importing import ImportFileError
from mdm.models import ImportJob, ImportProfile, ImportProfileUse, SourceSystem
from mdm.selectors.imports import import_job_next_sheet_get
from mdm.services.errors import DomainError
from mdm.services.import_matching import ImportMatching
from mdm.services.import_profiles import (
    AUTO,
    ImportOptions,
    import_job_confirm_with_profile,
    import_job_create_with_profile,
)
from mdm.services.import_reports import import_error_report
from mdm.services.imports import (
    import_job_rows_that_may_continue,
    import_job_run,
    import_job_sheets_fitting,
)


class Command(BaseCommand):
    help = (
        "Import customers from .xlsx, .xlsb, .xls, .ods, CSV (UTF-8/GBK/GB18030), "
        "JSON, JSON Lines, HTML tables or Excel 2003 XML. The column mapping "
        "comes from the source's import profile that matches the headers best, "
        "else from the header synonyms; --profile or --mapping choose it, "
        "--save-profile keeps it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", required=True, help="source system code")
        parser.add_argument("--encoding", help="override CSV encoding detection")
        parser.add_argument(
            "--sheet",
            action="append",
            help="sheet name (default: the first visible); given again, the "
            "next sheets are imported after the first with its mapping",
        )
        parser.add_argument(
            "--all-sheets",
            action="store_true",
            help="after the first sheet, import every other visible sheet of the "
            "workbook that has the mapping's name column, with the same mapping",
        )
        chooser = parser.add_mutually_exclusive_group()
        chooser.add_argument(
            "--mapping", type=Path, help='JSON file {"header": "field" or null}'
        )
        chooser.add_argument(
            "--profile", help="the source's import profile to map the columns with"
        )
        chooser.add_argument(
            "--no-profile",
            action="store_true",
            help="propose the mapping from the header synonyms only",
        )
        parser.add_argument(
            "--save-profile",
            metavar="NAME",
            help="save the mapping used as this profile (updated if it exists)",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="write nothing if any row is invalid",
        )
        mode.add_argument(
            "--per-row",
            action="store_true",
            help="import the good rows even if a profile says all-or-nothing",
        )
        mode.add_argument(
            "--check",
            action="store_true",
            help="write nothing: count what the import would create, update and "
            "reject, and report the rejected rows",
        )
        parser.add_argument(
            "--blank-rows-continue",
            action=argparse.BooleanOptionalAction,
            help="a row with neither name nor ID continues the customer above "
            "(contacts listed under their customer); default: as the profile says, "
            "else no",
        )
        parser.add_argument("--no-match", action="store_true", help="skip matching")
        parser.add_argument(
            "--errors-out", type=Path, help="write the .xlsx error report"
        )

    def handle(self, *args, **opts) -> None:
        system = SourceSystem.objects.filter(code=opts["source"]).first()
        if system is None:
            raise CommandError(f"Unknown source system {opts['source']!r}.")
        sheets = opts["sheet"] or [""]
        try:
            job = import_job_create_with_profile(
                system=system,
                content=opts["file"].read_bytes(),
                filename=opts["file"].name,
                profile=self._profile(system, opts),
                options=ImportOptions(
                    sheet=sheets[0],
                    encoding=opts["encoding"] or "",
                    mode=self._mode(opts),
                    blank_rows_continue=opts["blank_rows_continue"],
                ),
                run_matching=not opts["no_match"],
            )
            mapping = (
                json.loads(opts["mapping"].read_text("utf-8"))
                if opts["mapping"]
                else job.mapping
            )
            self._show_mapping(job, mapping)
            others = sheets[1:]
            if opts["all_sheets"]:
                others += self._fitting_sheets(job, mapping, others)
            saved = import_job_confirm_with_profile(
                job=job,
                mapping=mapping,
                other_sheets=others,
                **self._save_target(system, opts["save_profile"]),
            )
            if saved is not None:
                self.stdout.write(f"Mapping saved as profile {saved.name!r}.")
            failures = []
            current: ImportJob | None = job
            while current is not None:
                if others:
                    self.stdout.write(f"Sheet {current.sheet!r}:")
                current = self._run(current)
                errors_out = opts["errors_out"]
                if errors_out and others:
                    errors_out = errors_out.with_stem(
                        f"{errors_out.stem}-{current.sheet}"
                    )
                if failure := self._report(current, errors_out):
                    failures.append(failure)
                current = import_job_next_sheet_get(job=current)
        except (ImportFileError, DomainError, OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if failures:
            raise CommandError(" ".join(failures))

    def _fitting_sheets(self, job: ImportJob, mapping: dict, named: list) -> list:
        fitting = import_job_sheets_fitting(job=job, mapping=mapping)
        for sheet in job.sheet_names:
            if sheet == job.sheet or sheet in fitting or sheet in named:
                continue
            why = (
                "hidden"
                if sheet in job.hidden_sheets
                else "no column of the mapping's customer name in its first rows"
            )
            self.stdout.write(f"Sheet {sheet!r} left out: {why}.")
        return [sheet for sheet in fitting if sheet not in named]

    def _profile(self, system: SourceSystem, opts) -> ImportProfile | str | None:
        if opts["mapping"] or opts["no_profile"]:
            return None
        if opts["profile"] is None:
            return AUTO
        profile = system.import_profiles.filter(name=opts["profile"]).first()
        if profile is None:
            names = ", ".join(system.import_profiles.values_list("name", flat=True))
            raise CommandError(
                f"Source system {system.code!r} has no profile {opts['profile']!r}"
                f" (it has: {names or 'none'})."
            )
        return profile

    def _mode(self, opts) -> str:
        if opts["check"]:
            return ImportJob.Mode.CHECK
        if opts["all_or_nothing"]:
            return ImportJob.Mode.ALL_OR_NOTHING
        return ImportJob.Mode.PER_ROW if opts["per_row"] else ""

    def _save_target(self, system: SourceSystem, name: str | None) -> dict:
        if not name:
            return {}
        existing = system.import_profiles.filter(name=name).first()
        return {"update": existing} if existing else {"save_as": name}

    def _show_mapping(self, job: ImportJob, mapping: dict) -> None:
        self.stdout.write(f"{job.format} file, header row {job.header_row or '-'}")
        use = ImportProfileUse.objects.filter(job=job).first()
        if use is not None:
            self.stdout.write(f"Columns mapped by profile {use.profile_name!r}.")
            for header in use.missing_columns:
                self.stdout.write(
                    f"  {header!s:>20} -- in the profile, not in the file"
                )
        new = set(use.new_columns) if use is not None else set()
        for header, field in mapping.items():
            flag = "  (new: not in the profile)" if header in new else ""
            self.stdout.write(f"  {header!s:>20} -> {field or '(ignored)'}{flag}")

    def _run(self, job: ImportJob) -> ImportJob:
        # One bar for the rows, then one for the records matching places.
        rows = tqdm(total=0, unit="row", desc="import")
        bars = [rows]

        def progress(done: int, total: int) -> None:
            rows.total = total
            rows.update(done - rows.n)

        def matching(state: ImportMatching) -> None:
            if len(bars) == 1:
                rows.close()
                way = state.path.replace("_", " ")
                bars.append(
                    tqdm(total=state.records, unit="record", desc=f"match, {way}")
                )
            bars[-1].update(state.placed - bars[-1].n)

        try:
            return import_job_run(
                job=job, progress=progress, matching_progress=matching
            )
        finally:
            for bar in bars:
                bar.close()

    def _report(self, job: ImportJob, errors_out: Path | None) -> str:
        """Print what the import did; return its failure, if it failed."""
        summary = (
            f"{job.created_count} created, {job.updated_count} updated, "
            f"{job.unchanged_count} unchanged, {job.failed_count} rejected"
        )
        if job.joined_count:
            how = "merged down over theirs" + (
                " or theirs left blank" if job.blank_rows_continue else ""
            )
            summary += (
                f"; {job.joined_count} rows joined to the customer above them "
                f"(its name cell {how})"
            )
        if errors_out and job.failed_count:
            errors_out.write_bytes(import_error_report(job=job))
            summary += f"; error report: {errors_out}"
        if job.status == ImportJob.Status.FAILED:
            sheet = f"Sheet {job.sheet!r}: " if job.sheet_names[1:] else ""
            return f"{sheet}{job.error} ({summary})"
        if job.mode == ImportJob.Mode.CHECK:
            summary = f"Checked only, nothing written; importing would give: {summary}"
        self.stdout.write(self.style.SUCCESS(summary))
        if may_continue := import_job_rows_that_may_continue(job=job):
            self.stdout.write(
                f"{may_continue} rejected rows have neither a name nor an ID, below "
                "a customer's row: if they are its contacts, import the file again "
                "with --blank-rows-continue."
            )
        matching = job.matching
        if matching.get("path") == "one_by_one":
            outcomes = matching["outcomes"]
            self.stdout.write(
                f"Matched {matching['placed']} records one by one: "
                f"{outcomes.get('auto_merge', 0)} joined an existing golden record, "
                f"{outcomes.get('review', 0)} sent for review, "
                f"{outcomes.get('new', 0)} new."
            )
        elif matching.get("path") == "batch":
            outcomes = matching["outcomes"]
            self.stdout.write(
                f"Batch matching run: {outcomes['records_joined_existing']} records "
                f"joined an existing golden record, {outcomes['golden_created']} "
                f"new golden records, {outcomes['review_tasks']} review tasks."
            )
        return ""
