"""Idempotency keys of API writes: a client that sends `Idempotency-Key` may
retry a PUT, DELETE or batch POST safely; the first response is replayed."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyKey(models.Model):
    """One key per API client. The row is inserted before the request runs,
    so the unique constraint picks one winner among concurrent duplicates;
    the winner stores its response here and the others replay it."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")

    client = models.ForeignKey(
        "mdm.ApiClient", on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(_("key"), max_length=255)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=2000)
    # SHA-256 of the request body (canonical JSON when it parses).
    request_hash = models.CharField(_("request hash"), max_length=64)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.IN_PROGRESS
    )
    response_status = models.PositiveSmallIntegerField(
        _("response status"), null=True, blank=True
    )
    # The rendered JSON as text, not a JSONField: jsonb would reorder the
    # keys, and a replay must be the same bytes as the first answer.
    response_body = models.TextField(_("response body"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "key"], name="idempotency_key_unique_per_client"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.key}"
