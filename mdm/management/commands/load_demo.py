"""Load demo customers and match them: `manage.py load_demo [--companies N]`."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from mdm.models import SourceRecord
from mdm.services.demo import demo_load, demo_users_ensure


class Command(BaseCommand):
    help = "Load synthetic ERP, CRM and Excel customers and run matching over them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--companies", type=int, default=1500)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when source records already exist.",
        )

    def handle(self, *args, companies: int, seed: int, if_empty: bool, **options):
        if if_empty and SourceRecord.objects.exists():
            demo_users_ensure()
            self.stdout.write("Demo data already loaded; keeping it.")
            return
        run = demo_load(companies=companies, seed=seed, progress=self._progress)
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {run.records} source records; "
                f"{run.pairs_scored} pairs scored; "
                f"{run.stats['golden_created']} golden records; "
                f"{run.stats['review_tasks']} review tasks."
            )
        )

    def _progress(self, stage: str, done: int, total: int) -> None:
        self.stdout.write(f"\r{stage}: {done}/{total}", ending="")
        self.stdout.flush()
