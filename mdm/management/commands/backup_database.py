from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mdm.operations.backup import BackupError, database_backup


class Command(BaseCommand):
    help = "Write a consistent backup of the whole database to a file."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, type=Path)

    def handle(self, *args, out: Path, **options):
        if out.exists():
            raise CommandError(f"{out} exists; choose a new file name.")
        try:
            database_backup(out)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Backup written to {out} ({out.stat().st_size:,} bytes).")
