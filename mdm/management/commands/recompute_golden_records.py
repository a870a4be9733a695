"""`manage.py recompute_golden_records`: apply the survivorship policy in
force (edited in the admin) to existing golden records."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mdm.services.survivorship_policy import (
    PolicyApplyReport,
    survivorship_policy_apply,
)


class Command(BaseCommand):
    help = (
        "Recompute every active golden record under the survivorship policy; "
        "only records whose values or lineage change are written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would change, write nothing.",
        )

    def handle(self, *args, batch_size: int, dry_run: bool, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        report = survivorship_policy_apply(
            batch_size=batch_size, dry_run=dry_run, on_batch=self._progress
        )
        verb = "would change" if dry_run else "changed"
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.examined} golden records examined: {report.values_changed} "
                f"{verb} values, {report.lineage_changed} {verb} lineage only."
            )
        )

    def _progress(self, report: PolicyApplyReport) -> None:
        self.stdout.write(
            f"{report.examined}/{report.total} examined, "
            f"{report.values_changed} values changed, "
            f"{report.lineage_changed} lineage only"
        )
