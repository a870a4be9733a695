"""The transactional outbox: one row per golden-record change, written in
the same transaction as the change, for the connectors to deliver."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxEvent(models.Model):
    class Topic(models.TextChoices):
        CREATED = "golden.created", _("golden record created")
        UPDATED = "golden.updated", _("golden record updated")
        MERGED = "golden.merged", _("golden records merged")
        UNMERGED = "golden.unmerged", _("merge undone")
        SPLIT = "golden.split", _("golden record split")
        RETIRED = "golden.retired", _("golden record retired")

    topic = models.CharField(_("topic"), max_length=32, choices=Topic)
    golden_id = models.CharField(_("golden ID"), max_length=16)
    version = models.PositiveIntegerField(_("version"))
    # The ID card after the change, its members (system, source ID) and, for
    # merges, which golden IDs were absorbed: all a receiver needs.
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes = [models.Index(fields=["golden_id", "id"])]

    def __str__(self) -> str:
        return f"{self.topic} {self.golden_id} v{self.version}"
