"""Compare every linked remote record with what we pushed; repair drift."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from connectors.base import ConnectorError
from connectors.broadcast import TargetNotReady, Worker
from connectors.reconcile import links_reconcile, targets_reconcilable


class Command(BaseCommand):
    help = "Reconcile the link table with the targets (run it daily)."

    def add_arguments(self, parser):
        parser.add_argument("--target", action="append", help="only this target (name)")

    def handle(self, *args, target, **options):
        worker = Worker()
        try:
            for row in targets_reconcilable():
                if target and row.name not in target:
                    continue
                try:
                    counts = links_reconcile(
                        target_id=row.pk, connector=worker.connector(row)
                    )
                except (ConnectorError, TargetNotReady, NotImplementedError) as exc:
                    self.stderr.write(f"{row.name}: {exc}")
                    continue
                summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                self.stdout.write(f"{row.name}: {summary or 'no links'}")
        finally:
            worker.close()
