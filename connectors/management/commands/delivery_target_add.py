"""Create a delivery target from the command line (the admin does the same)."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from connectors.registry import CONNECTOR_CLASSES
from mdm.models import DeliveryTarget


class Command(BaseCommand):
    help = "Add a delivery target (webhook, file, ERP, CRM)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--kind", required=True, choices=sorted(CONNECTOR_CLASSES))
        parser.add_argument("--config", default="{}", help='JSON, e.g. {"url": …}')
        parser.add_argument(
            "--secret-env",
            default="{}",
            help="JSON: secret name -> environment variable, e.g. "
            '{"signing_secret": "ERP_WEBHOOK_SECRET"}',
        )
        parser.add_argument("--topic", action="append", default=[], dest="topics")
        parser.add_argument("--disabled", action="store_true")
        parser.add_argument(
            "--if-missing", action="store_true", help="do nothing if the name exists"
        )

    def handle(
        self,
        *args,
        name,
        kind,
        config,
        secret_env,
        topics,
        disabled,
        if_missing,
        **options,
    ):
        if DeliveryTarget.objects.filter(name=name).exists():
            if if_missing:
                return
            raise CommandError(f"A target named {name} exists.")
        try:
            target = DeliveryTarget(
                name=name,
                kind=kind,
                config=json.loads(config),
                secret_env=json.loads(secret_env),
                topics=topics,
                enabled=not disabled,
            )
            target.full_clean()
        except (json.JSONDecodeError, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        target.save()
        self.stdout.write(f"target {name} ({kind}) added")
