"""Sync with targets that stewards must settle, and inbound webhooks seen.

A SyncConflict is opened by the delivery worker when a three-way merge
cannot settle a field by ownership, or when the remote record we are
linked to was deleted or archived in the target (never re-created
silently). A steward resolves it (mdm/services/sync_conflicts.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mdm.models.delivery import Delivery, DeliveryTarget


class SyncConflict(models.Model):
    class Kind(models.TextChoices):
        CONFLICT = "conflict", _("changed on both sides")
        REMOTE_DELETED = "remote_deleted", _("deleted in the target")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        RESOLVED = "resolved", _("resolved")

    class Resolution(models.TextChoices):
        MERGED = "merged", _("fields decided")
        RECREATED = "recreated", _("re-created in the target")
        UNLINKED = "unlinked", _("unlinked")

    target = models.ForeignKey(
        DeliveryTarget,
        on_delete=models.CASCADE,
        related_name="sync_conflicts",
        verbose_name=_("target"),
    )
    golden_id = models.CharField(_("golden ID"), max_length=16)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    state = models.CharField(
        _("state"), max_length=16, choices=State, default=State.OPEN
    )
    remote_id = models.CharField(_("remote ID"), max_length=255, blank=True)
    # The remote version the fields were read at.
    remote_version = models.CharField(_("remote version"), max_length=255, blank=True)
    # {path: {"base": …, "ours": …, "theirs": …}} for the undecided fields;
    # a steward's choice per path goes into `decisions` ({path: "ours"}).
    fields = models.JSONField(_("fields"), default=dict, blank=True)
    decisions = models.JSONField(_("decisions"), default=dict, blank=True)
    delivery = models.ForeignKey(
        Delivery,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("delivery"),
    )
    detail = models.TextField(_("detail"), blank=True)
    resolution = models.CharField(
        _("resolution"), max_length=16, choices=Resolution, blank=True
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("sync conflict")
        verbose_name_plural = _("sync conflicts")
        constraints = [
            models.UniqueConstraint(
                fields=["target", "golden_id"],
                condition=models.Q(state="open"),
                name="sync_conflict_one_open_per_link",
            )
        ]
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self) -> str:
        return f"{self.golden_id} @ {self.target_id} ({self.kind}, {self.state})"


class InboundWebhook(models.Model):
    """A webhook-id a target sent us: a replay of the same id is refused."""

    target = models.ForeignKey(
        DeliveryTarget, on_delete=models.CASCADE, related_name="+"
    )
    webhook_id = models.CharField(_("webhook ID"), max_length=255)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("inbound webhook")
        verbose_name_plural = _("inbound webhooks")
        constraints = [
            models.UniqueConstraint(
                fields=["target", "webhook_id"], name="inbound_webhook_once"
            )
        ]
        indexes = [models.Index(fields=["received_at"])]
