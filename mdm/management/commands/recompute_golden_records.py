"""`manage.py recompute_golden_records`: apply the survivorship policy in
force (edited in the admin) to existing golden records."""

from __future__ import annotations

from mdm.management.batch_command import BatchCommand
from mdm.services.survivorship_policy import (
    PolicyApplyReport,
    survivorship_policy_apply,
)


class Command(BatchCommand):
    help = (
        "Recompute every active golden record under the survivorship policy; "
        "only records whose values or lineage change are written."
    )

    def run(self, *, batch_size: int, dry_run: bool) -> None:
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
