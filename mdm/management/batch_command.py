"""What the commands that walk a whole table in batches share: the
--batch-size and --dry-run options."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser


class BatchCommand(BaseCommand):
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
        self.run(batch_size=batch_size, dry_run=dry_run)

    def run(self, *, batch_size: int, dry_run: bool) -> None:
        raise NotImplementedError
