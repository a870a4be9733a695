"""Import profiles: a confirmed column mapping of one source system's files,
saved under a name so the next file with the same headers is mapped alike."""

from __future__ import annotations

import codecs
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mdm.history import HistoricalRecords, history_user
from mdm.importing.headers import NAME_COLUMN_FIELDS, SYNONYMS, header_key
from mdm.models.imports import ImportJob

MAX_HEADER_LENGTH = 255


class ImportProfile(models.Model):
    """A named column mapping (and the reading options worth remembering) of
    one source system's files."""

    source_system = models.ForeignKey(
        "mdm.SourceSystem",
        on_delete=models.CASCADE,
        related_name="import_profiles",
        verbose_name=_("source system"),
    )
    name = models.CharField(_("name"), max_length=100)
    # {"header as in the file": "ID-card field" | null}; null marks a column
    # the importer chose to ignore, so it is not reported as new next time.
    mapping = models.JSONField(_("column mapping"), default=dict)
    # Empty: the first visible sheet.
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    # Empty: detect. Only an override is remembered, never what was detected.
    encoding = models.CharField(_("text encoding"), max_length=32, blank=True)
    # A profile says how to import; checking a file is asked for each time.
    mode = models.CharField(
        _("mode"),
        max_length=16,
        choices=[
            (mode.value, mode.label)
            for mode in ImportJob.Mode
            if mode != ImportJob.Mode.CHECK
        ],
        default=ImportJob.Mode.PER_ROW,
    )
    blank_rows_continue = models.BooleanField(
        _("rows without a name or ID continue the customer above"), default=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("import profile")
        verbose_name_plural = _("import profiles")
        ordering = ["source_system", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "name"], name="import_profile_unique_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_system_id and self.source_system.code} · {self.name}"

    def clean(self) -> None:
        errors = {}
        if mapping_errors := profile_mapping_errors(self.mapping):
            errors["mapping"] = mapping_errors
        if self.encoding and not encoding_known(self.encoding):
            errors["encoding"] = gettext("Unknown text encoding.")
        if errors:
            raise ValidationError(errors)

    @property
    def ignored(self) -> list[str]:
        return [header for header, field in self.mapping.items() if not field]


class ImportProfileUse(models.Model):
    """Which profile pre-filled an import's mapping, and how the file differed
    from it then (the profile may change or go later; this stays as it was)."""

    class How(models.TextChoices):
        AUTO = "auto", _("picked automatically")
        CHOSEN = "chosen", _("chosen by the importer")

    job = models.OneToOneField(
        ImportJob, on_delete=models.CASCADE, related_name="profile_use"
    )
    profile = models.ForeignKey(
        ImportProfile,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="uses",
    )
    profile_name = models.CharField(_("profile"), max_length=100)
    how = models.CharField(_("how"), max_length=8, choices=How)
    score = models.FloatField(_("header match"))
    new_columns = models.JSONField(_("new columns"), default=list, blank=True)
    missing_columns = models.JSONField(_("missing columns"), default=list, blank=True)
    applied_at = models.DateTimeField(_("applied at"), default=timezone.now)

    class Meta:
        verbose_name = _("profile applied to an import")
        verbose_name_plural = _("profiles applied to imports")

    def __str__(self) -> str:
        return f"{self.profile_name} → {self.job_id}"


def profile_mapping_errors(mapping: Any) -> list[str]:
    """What is wrong with a column mapping to be saved (empty: nothing).

    The reading layer's rules: fields are the importer's ID-card fields;
    headers are compared in `header_key` form, so two headers with the same
    key could not be told apart in a file; a row needs a customer name.
    """
    if not isinstance(mapping, dict) or not mapping:
        return [gettext("The mapping must name at least one column.")]
    errors: list[str] = []
    seen: dict[str, str] = {}
    for header, field in mapping.items():
        key = header_key(header) if isinstance(header, str) else ""
        if not key or len(header) > MAX_HEADER_LENGTH:
            errors.append(
                gettext("%(header)r is not a usable column name.") % {"header": header}
            )
        elif key in seen:
            errors.append(
                gettext("The columns %(a)r and %(b)r cannot be told apart.")
                % {"a": seen[key], "b": header}
            )
        else:
            seen[key] = header
        if field is not None and field not in SYNONYMS:
            errors.append(
                gettext("%(field)r is not an ID-card field.") % {"field": field}
            )
    # A row the importer reads needs a customer name; so does a profile.
    if not errors and not NAME_COLUMN_FIELDS & set(mapping.values()):
        errors.append(gettext("Map at least one column to the customer name."))
    return errors


def encoding_known(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True
