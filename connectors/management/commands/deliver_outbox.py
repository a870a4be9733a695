"""Deliver outbox events to their targets until stopped (SIGTERM/SIGINT).

Run one or more of these next to the web server, on any number of
machines: they share the work through leases in the database.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connections

from connectors.broadcast import Worker, broadcast_run_once

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Deliver due outbox events to ERP, CRM and webhook targets."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=0.5,
            help="seconds to sleep when nothing is due (default 0.5)",
        )
        parser.add_argument(
            "--once", action="store_true", help="one pass over the targets, then exit"
        )
        parser.add_argument(
            "--target", action="append", type=int, help="only this target id"
        )

    def handle(self, *args, interval: float, once: bool, target, **options):
        stop = threading.Event()
        # Finish the batch in hand, then exit: a claim left half-done is
        # reclaimed after its lease anyway, but a clean stop wastes nothing.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        worker = Worker()
        total = 0
        try:
            while not stop.is_set():
                close_old_connections()
                try:
                    done = broadcast_run_once(worker=worker, targets=target)
                except DatabaseError:
                    # The database went away (restart, fail-over): drop the
                    # connection and try again; leases cover what was in hand.
                    logger.exception("delivery pass failed; retrying")
                    connections.close_all()
                    done = 0
                    stop.wait(max(interval, 1.0))
                total += done
                if once:
                    break
                if not done:
                    stop.wait(interval)
        finally:
            worker.close()
        if once:
            self.stdout.write(f"{total} deliveries attempted")
