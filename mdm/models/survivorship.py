"""The survivorship policy: for each ID-card attribute, the ordered rules
that pick its golden value from the member source records."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from mdm.history import HistoricalRecords, history_user
from mdm.id_card import ATTRIBUTES
from mdm.survivorship_rules import RULES


class SurvivorshipPolicy(models.Model):
    """One row per attribute. A missing row means the shipped default
    (`mdm.survivorship_rules.DEFAULT_POLICY`)."""

    class Rule(models.TextChoices):
        VALID_FIRST = "valid_first", _("valid over invalid")
        SOURCE_TRUST = "source_trust", _("source trust")
        MOST_RECENT = "most_recent", _("most recent")
        MOST_COMPLETE = "most_complete", _("most complete")
        MOST_FREQUENT = "most_frequent", _("most frequent")

    # No `choices`: clean() names the valid attributes in its message, and a
    # new ID-card attribute needs no migration of this table.
    attribute = models.CharField(_("attribute"), max_length=32, unique=True)
    # ["valid_first", "source_trust", "most_recent"]: tie-breakers in order.
    rules = models.JSONField(
        _("rules"),
        default=list,
        help_text=_(
            "A JSON list of rules, the strongest first; each later rule only "
            "breaks ties of the earlier ones. Rules: valid_first, source_trust, "
            "most_recent, most_complete, most_frequent."
        ),
    )
    note = models.TextField(
        _("note"),
        blank=True,
        help_text=_("Why the rules are so, for the next steward."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("survivorship policy")
        verbose_name_plural = _("survivorship policies")
        ordering = ["attribute"]

    def __str__(self) -> str:
        return self.attribute

    def clean(self) -> None:
        if self.attribute not in ATTRIBUTES:
            raise ValidationError(
                {
                    "attribute": _(
                        "Unknown attribute “%(name)s”; the ID card has: %(names)s."
                    )
                    % {"name": self.attribute, "names": ", ".join(ATTRIBUTES)}
                }
            )
        rules = self.rules
        if not isinstance(rules, list) or not rules:
            raise ValidationError(
                {"rules": _('List at least one rule, e.g. ["source_trust"].')}
            )
        unknown = [
            str(name)
            for name in rules
            if not isinstance(name, str) or name not in RULES
        ]
        if unknown:
            raise ValidationError(
                {
                    "rules": _("Unknown rule %(names)s; the rules are: %(rules)s.")
                    % {
                        "names": ", ".join(f"“{name}”" for name in unknown),
                        "rules": ", ".join(RULES),
                    }
                }
            )
        if len(set(rules)) != len(rules):
            raise ValidationError({"rules": _("Each rule may appear only once.")})
