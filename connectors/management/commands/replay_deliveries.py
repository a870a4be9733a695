"""Send dead-letter (or conflict) deliveries again, with their event ids."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from mdm.models import Delivery
from mdm.services.deliveries import delivery_replay


class Command(BaseCommand):
    help = "Replay dead-letter deliveries (by id, or all of a target)."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, help="delivery ids")
        parser.add_argument("--target", help="every dead letter of this target (name)")
        parser.add_argument(
            "--conflicts", action="store_true", help="conflicts too, not only dead"
        )

    def handle(self, *args, ids, target, conflicts, **options):
        if not ids and not target:
            raise CommandError("Give delivery ids or --target NAME.")
        states = [Delivery.State.DEAD] + (
            [Delivery.State.CONFLICT] if conflicts else []
        )
        queryset = Delivery.objects.filter(state__in=states)
        if ids:
            queryset = queryset.filter(pk__in=ids)
        if target:
            queryset = queryset.filter(target__name=target)
        count = delivery_replay(deliveries=queryset)
        self.stdout.write(f"{count} deliveries queued again")
