"""`manage.py erase_personal_data --phone 13800138000 --reason "PIPL request 42"`:
erase a customer's personal data (docs/operations.md, "Erasure")."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from mdm.audit_context import audit_as
from mdm.services.erasure import (
    ErasureError,
    ErasureRequest,
    erasure_request_execute,
)


class Command(BaseCommand):
    help = (
        "Scrub a customer's phones, e-mails, ID numbers, contacts and addresses "
        "from every table, its history and the stored import files."
    )

    def add_arguments(self, parser) -> None:
        for option in ("phone", "email", "uscc", "id-number"):
            parser.add_argument(f"--{option}", action="append", default=[])
        parser.add_argument(
            "--source-key", action="append", default=[], help="system:source ID"
        )
        parser.add_argument("--golden-id", action="append", default=[])
        parser.add_argument(
            "--erase-names",
            action="store_true",
            help="also the names (a customer who is a natural person)",
        )
        parser.add_argument("--reason", required=True, help="the request's reference")
        parser.add_argument("--yes", action="store_true", help="do not ask")

    def handle(self, *args, **options) -> None:
        request = ErasureRequest(
            phones=tuple(options["phone"]),
            emails=tuple(options["email"]),
            usccs=tuple(options["uscc"]),
            id_numbers=tuple(options["id_number"]),
            source_keys=tuple(options["source_key"]),
            golden_ids=tuple(options["golden_id"]),
            erase_names=options["erase_names"],
        )
        if not options["yes"] and input("Erase for good? Type 'erase': ") != "erase":
            raise CommandError("Nothing erased.")
        try:
            with audit_as("command:erase_personal_data"):
                record = erasure_request_execute(
                    request=request, reason=options["reason"]
                )
        except ErasureError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Erasure {record.pk}: golden records {', '.join(record.golden_ids)}; "
            f"{len(record.source_keys)} source records"
        )
        for table, rows in record.counts.items():
            self.stdout.write(f"  {table}: {rows}")
