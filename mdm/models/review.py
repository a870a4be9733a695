"""The steward review queue: suspected duplicates the engine was unsure of."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mdm.history import HistoricalRecords, history_user


class ReviewTask(models.Model):
    """A pair of source records that scored in the review band.

    `left` is the record that triggered the match, `right` the candidate; the
    pair is stored with left.pk < right.pk so one pair has one open task.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        MERGED = "merged", _("merged")
        NOT_A_MATCH = "not_a_match", _("not a match")
        SKIPPED = "skipped", _("skipped")
        DEFERRED = "deferred", _("deferred")
        OBSOLETE = "obsolete", _("obsolete")

    left = models.ForeignKey(
        "mdm.SourceRecord", on_delete=models.PROTECT, related_name="+"
    )
    right = models.ForeignKey(
        "mdm.SourceRecord", on_delete=models.PROTECT, related_name="+"
    )
    score = models.FloatField(_("match score"))
    # [{"comparison": "name", "text": "name 92% alike ...", "weight": 3.1}, ...]
    evidence = models.JSONField(_("evidence"), default=list)
    has_uscc_conflict = models.BooleanField(_("USCC conflict"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status, default=Status.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("review task")
        verbose_name_plural = _("review tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["left", "right"],
                condition=models.Q(status="open"),
                name="review_task_one_open_per_pair",
            ),
            models.CheckConstraint(
                condition=models.Q(left__lt=models.F("right")),
                name="review_task_ordered_pair",
            ),
        ]
        indexes = [models.Index(fields=["status", "-score"])]

    def __str__(self) -> str:
        return f"{self.left_id}↔{self.right_id} {self.score:.2f}"
