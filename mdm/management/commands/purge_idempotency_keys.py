"""`manage.py purge_idempotency_keys`: delete API idempotency keys older than
IDEMPOTENCY_KEY_TTL_HOURS (run it daily, e.g. from cron)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from mdm.api.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_HOURS."

    def handle(self, *args, **options) -> None:
        deleted = idempotency_keys_purge()
        self.stdout.write(
            self.style.SUCCESS(
                f"{deleted} idempotency keys older than "
                f"{settings.IDEMPOTENCY_KEY_TTL_HOURS} h deleted"
            )
        )
