"""Poll targets for changes made there and bring them in (once, or in a loop
until SIGTERM/SIGINT). Targets need a source system and `changes_since`."""

from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connections

from connectors.base import ConnectorError
from connectors.broadcast import TargetNotReady, Worker
from connectors.inbound import inbound_sync_target
from mdm.models import DeliveryTarget

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Bring in changes made in ERP/CRM targets (polling changes_since)."

    def add_arguments(self, parser):
        parser.add_argument("--target", action="append", help="only this target (name)")
        parser.add_argument("--loop", action="store_true", help="poll until stopped")
        parser.add_argument(
            "--interval", type=float, default=60.0, help="seconds between polls"
        )

    def handle(self, *args, target, loop: bool, interval: float, **options):
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        worker = Worker()
        try:
            while True:
                try:
                    self._poll(worker, names=target)
                except DatabaseError:
                    logger.exception("inbound poll failed; retrying")
                    connections.close_all()
                if not loop or stop.wait(interval):
                    break
                close_old_connections()
        finally:
            worker.close()

    def _poll(self, worker: Worker, *, names: list[str] | None) -> None:
        targets = DeliveryTarget.objects.filter(
            enabled=True, source_system__isnull=False
        ).order_by("name")
        if names:
            targets = targets.filter(name__in=names)
        for target in targets:
            try:
                connector = worker.connector(target)
                if not connector.capabilities.changes_since:
                    continue
                counts = inbound_sync_target(target_id=target.pk, connector=connector)
            except (ConnectorError, TargetNotReady) as exc:
                self.stderr.write(f"{target.name}: {exc}")
                continue
            summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            self.stdout.write(f"{target.name}: {summary or 'nothing new'}")
