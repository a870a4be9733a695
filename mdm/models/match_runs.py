"""Batch matching runs, each saved with the exact model it used."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MatchRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    status = models.CharField(
        _("status"), max_length=16, choices=Status, default=Status.RUNNING
    )
    # The full MatchConfig (with trained m/u) as JSON: the run is reproducible,
    # and the single-record path scores with the latest successful one.
    config = models.JSONField(_("match config"), default=dict)
    config_hash = models.CharField(_("config fingerprint"), max_length=64, blank=True)
    records = models.PositiveIntegerField(_("records"), default=0)
    pairs_scored = models.PositiveBigIntegerField(_("pairs scored"), default=0)
    stats = models.JSONField(_("statistics"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("match run")
        verbose_name_plural = _("match runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"match run {self.pk} ({self.status})"
