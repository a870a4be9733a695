"""Golden records: one per real customer, the customer's ID card."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mdm.history import HistoricalRecords, history_user


class GoldenIdAllocation(models.Model):
    """One row per golden ID ever issued: the autoincrement key is the serial,
    so an ID is never issued twice, even after rollbacks or unmerges."""

    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("golden ID allocation")


class GoldenRecord(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        MERGED = "merged", _("merged into another")
        RETIRED = "retired", _("retired")

    golden_id = models.CharField(_("golden ID"), max_length=16, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status, default=Status.ACTIVE
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="absorbed",
        verbose_name=_("merged into"),
    )

    legal_name = models.CharField(_("legal name"), max_length=300, blank=True)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    english_name = models.CharField(_("English name"), max_length=300, blank=True)
    uscc = models.CharField(
        _("USCC / tax ID"), max_length=32, blank=True, db_index=True
    )
    uscc_valid = models.BooleanField(_("USCC check digit valid"), null=True)
    phones = models.JSONField(_("phones"), default=list, blank=True)
    emails = models.JSONField(_("emails"), default=list, blank=True)
    # [{"province": ..., "city": ..., "district": ..., "detail": ...}]
    addresses = models.JSONField(_("addresses"), default=list, blank=True)
    # [{"name": ..., "title": ..., "phone": ..., "email": ...}]
    contacts = models.JSONField(_("contacts"), default=list, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    customer_level = models.CharField(_("customer level"), max_length=32, blank=True)
    # {"legal_name": {"source": "erp:CUST-1", "source_record": 17}} or
    # {"legal_name": {"steward": "alice"}}: where each surviving value came from.
    lineage = models.JSONField(_("attribute lineage"), default=dict, blank=True)
    # Raised on every change; stewards' forms carry it for optimistic locking.
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("golden record")
        verbose_name_plural = _("golden records")
        indexes = [models.Index(fields=["status", "legal_name"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(status="merged", merged_into__isnull=False)
                    | (~models.Q(status="merged") & models.Q(merged_into__isnull=True))
                ),
                name="golden_merged_has_survivor",
            )
        ]

    def __str__(self) -> str:
        return f"{self.golden_id} {self.legal_name}"
