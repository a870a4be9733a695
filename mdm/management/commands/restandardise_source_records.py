"""`manage.py restandardise_source_records`: after an upgrade that changed
the standardisers, write the new standardised values of the stored source
records (search, look-ups and survivorship read them)."""

from __future__ import annotations

from mdm.management.batch_command import BatchCommand
from mdm.services.restandardise import (
    RestandardiseReport,
    source_records_restandardise,
)


class Command(BatchCommand):
    help = (
        "Standardise every source record's attributes again; only records "
        "whose standardised values change are written, with history. Then run "
        "recompute_golden_records."
    )

    def run(self, *, batch_size: int, dry_run: bool) -> None:
        report = source_records_restandardise(
            batch_size=batch_size, dry_run=dry_run, on_batch=self._progress
        )
        verb = "would change" if dry_run else "changed"
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.examined} source records examined, {report.changed} "
                f"{verb}." + ("" if dry_run or not report.changed else NEXT_STEP)
            )
        )

    def _progress(self, report: RestandardiseReport) -> None:
        self.stdout.write(
            f"{report.examined}/{report.total} examined, {report.changed} changed"
        )


NEXT_STEP = (
    " Run `manage.py recompute_golden_records` to bring the golden records in line."
)
