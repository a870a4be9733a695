"""API clients (an ERP, a CRM, another service) and their bearer tokens."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mdm.history import HistoricalRecords, history_user


class ApiClient(models.Model):
    class Scope(models.TextChoices):
        READ = "read", _("read")
        WRITE = "write", _("write")
        ADMIN = "admin", _("admin")
        PII = "pii", _("see unmasked personal data")

    name = models.CharField(_("name"), max_length=100, unique=True)
    # A client bound to a source system may write only that system's records.
    source_system = models.ForeignKey(
        "mdm.SourceSystem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_clients",
    )
    scopes = models.JSONField(_("scopes"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return self.name

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes or self.Scope.ADMIN in self.scopes


class ApiToken(models.Model):
    """Only a hash of the token is stored; the token is shown once, at issue."""

    client = models.ForeignKey(
        ApiClient, on_delete=models.PROTECT, related_name="tokens"
    )
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.client.name} {self.prefix}…"

    def is_usable(self, now) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > now
        )
