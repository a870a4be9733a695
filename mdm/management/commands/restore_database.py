from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mdm.operations.backup import BackupError, database_restore


class Command(BaseCommand):
    help = (
        "Replace the whole database with a backup made by backup_database. "
        "Stop the app and the workers first."
    )

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path)
        parser.add_argument(
            "--yes", action="store_true", help="do not ask for confirmation"
        )

    def handle(self, *args, backup: Path, yes: bool, **options):
        if not yes:
            answer = input(f"Replace the database with {backup}? Type 'restore': ")
            if answer.strip() != "restore":
                raise CommandError("Not restored.")
        try:
            database_restore(backup)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Database restored from {backup}.")
