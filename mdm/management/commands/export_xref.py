"""`manage.py export_xref --out FILE`: the cross-reference as CSV."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from mdm.audit_context import audit_as
from mdm.services.exports import xref_csv


class Command(BaseCommand):
    help = "Write (source system, source ID, golden ID) for every source record."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", type=Path, required=True)

    def handle(self, *args, out: Path, **options) -> None:
        with audit_as("command:export_xref"), out.open("wb") as handle:
            lines = sum(handle.write(chunk) > 0 for chunk in xref_csv()) - 2
        self.stdout.write(self.style.SUCCESS(f"{lines} cross-references -> {out}"))
