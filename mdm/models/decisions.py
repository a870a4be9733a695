"""What data stewards decided, who decided it, when and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StewardDecision(models.Model):
    class Kind(models.TextChoices):
        MERGE = "merge", _("merge")
        NOT_A_MATCH = "not_a_match", _("not a match")
        SPLIT = "split", _("split")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions"
    )
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)
    # Golden IDs involved, e.g. {"survivor": "GR...", "absorbed": ["GR..."]}.
    details = models.JSONField(_("details"), default=dict, blank=True)
    # The golden records a merge touched, as they were just before it (values,
    # lineage, version, members): what an unmerge restores, byte for byte.
    snapshot = models.JSONField(_("state before"), default=dict, blank=True)
    source_records = models.ManyToManyField(
        "mdm.SourceRecord", through="DecisionMember", related_name="decisions"
    )

    class Meta:
        verbose_name = _("steward decision")
        verbose_name_plural = _("steward decisions")
        ordering = ["-decided_at"]
        # The few decisions that undo another (an unmerge's split, the merge
        # undoing a split), found without reading every decision: queries
        # name the key (`details__has_key`) so that either database matches
        # the partial index (mdm.selectors.decisions).
        indexes = [
            models.Index(
                fields=["kind"],
                condition=models.Q(details__has_key="unmerge_of"),
                name="decision_unmerges",
            ),
            models.Index(
                fields=["kind"],
                condition=models.Q(details__has_key="undo_of"),
                name="decision_split_undos",
            ),
        ]

    def __str__(self) -> str:
        when = f"{self.decided_at:%Y-%m-%d}"
        return f"{self.get_kind_display()} by {self.decided_by} at {when}"


class DecisionMember(models.Model):
    """A source record named by a decision. For a split, `group` says which new
    group it went to; for not-a-match, every pair of members is a non-match."""

    decision = models.ForeignKey(
        StewardDecision, on_delete=models.PROTECT, related_name="members"
    )
    source_record = models.ForeignKey("mdm.SourceRecord", on_delete=models.PROTECT)
    group = models.PositiveSmallIntegerField(_("group"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["decision", "source_record"], name="decision_member_unique"
            )
        ]
