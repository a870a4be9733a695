"""Source systems, the records they send us, and the link of each record to
its golden record."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mdm.history import HistoricalRecords, history_user
from mdm.mapping_presets import PRESETS, mapping_errors


class SourceSystem(models.Model):
    class Kind(models.TextChoices):
        ERP = "erp", _("ERP")
        CRM = "crm", _("CRM")
        SPREADSHEET = "spreadsheet", _("Spreadsheet")
        OTHER = "other", _("Other")

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    mapping_preset = models.CharField(
        _("field mapping preset"),
        max_length=32,
        help_text=_("How this system's payload fields map onto the ID card."),
    )
    # Rules of the preset's shape (see mdm/mapping_presets.py), edited per
    # system in the admin and versioned with the system's history; empty
    # means "the preset as shipped".
    field_mapping = models.JSONField(
        _("field mapping"),
        default=dict,
        blank=True,
        help_text=_(
            "Leave empty to use the preset; otherwise rules of the same shape."
        ),
    )
    # {"legal_name": 0.9, "phones": 0.5, ...}; unlisted attributes: `default_trust`.
    trust = models.JSONField(_("trust per attribute"), default=dict, blank=True)
    default_trust = models.FloatField(_("default trust"), default=0.5)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("source system")
        verbose_name_plural = _("source systems")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.mapping_preset not in PRESETS:
            raise ValidationError(
                {
                    "mapping_preset": _("Unknown preset; choose one of %(names)s.")
                    % {"names": ", ".join(sorted(PRESETS))}
                }
            )
        if self.field_mapping != {}:
            errors = mapping_errors(self.field_mapping)
            if errors:
                raise ValidationError({"field_mapping": errors})

    @property
    def mapping_rules(self) -> dict:
        """The inbound mapping in force: the edited rules, else the preset."""
        return self.field_mapping or PRESETS[self.mapping_preset]

    def trust_for(self, attribute: str) -> float:
        return float(self.trust.get(attribute, self.default_trust))


class SourceRecord(models.Model):
    """One customer as one source system holds it. Never deleted by us."""

    source_system = models.ForeignKey(
        SourceSystem, on_delete=models.PROTECT, related_name="records"
    )
    source_id = models.CharField(_("source ID"), max_length=255)
    # Exactly the JSON text we received for this record, for audit and replay.
    raw_payload = models.TextField(_("raw payload"))
    # sha256 of the canonical JSON (sorted keys): an unchanged re-send is a no-op
    # even if the sender reorders its keys.
    fingerprint = models.CharField(_("content fingerprint"), max_length=64)
    # The payload mapped onto ID-card attribute names (before standardisation).
    attributes = models.JSONField(_("ID-card attributes"), default=dict)
    # Standardised values used by matching, e.g. {"name_core": "华盛科技", ...}.
    standardised = models.JSONField(_("standardised fields"), default=dict)
    # Not indexed: nothing looks a record up by this column (name search
    # reads the standardised keys, mdm/selectors/names.py), and an index on
    # it cost an import ~10 µs a row.
    name = models.CharField(_("name"), max_length=300, blank=True)
    uscc = models.CharField(
        _("USCC / tax ID"), max_length=32, blank=True, db_index=True
    )
    uscc_valid = models.BooleanField(_("USCC check digit valid"), null=True)
    source_created_at = models.DateTimeField(
        _("created in source"), null=True, blank=True
    )
    source_updated_at = models.DateTimeField(
        _("updated in source"), null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    deleted_in_source_at = models.DateTimeField(
        _("deleted in source at"), null=True, blank=True
    )
    received_at = models.DateTimeField(_("first received"), default=timezone.now)
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    # History rows are read by record (id) and date only; one per row an
    # import writes, so indexes copied from the record cost it for nothing.
    history = HistoricalRecords(
        get_user=history_user, no_db_index=["uscc", "source_system"]
    )

    class Meta:
        verbose_name = _("source record")
        verbose_name_plural = _("source records")
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "source_id"], name="source_record_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_system_id and self.source_system.code}:{self.source_id}"

    @property
    def key(self) -> str:
        return f"{self.source_system.code}:{self.source_id}"


class CrossReference(models.Model):
    """The link from a source record to the golden record it belongs to now.

    One row per source record (the OneToOne enforces "exactly one golden
    record at a time"); earlier links live in the history table.
    """

    class Method(models.TextChoices):
        NEW = "new", _("new customer")
        AUTO_MATCH = "auto_match", _("automatic match")
        STEWARD = "steward", _("steward decision")

    source_record = models.OneToOneField(
        SourceRecord, on_delete=models.PROTECT, related_name="xref"
    )
    golden = models.ForeignKey(
        "mdm.GoldenRecord", on_delete=models.PROTECT, related_name="xrefs"
    )
    method = models.CharField(_("linked by"), max_length=16, choices=Method)
    score = models.FloatField(_("match score"), null=True, blank=True)
    linked_at = models.DateTimeField(_("linked at"), default=timezone.now)

    history = HistoricalRecords(get_user=history_user)

    class Meta:
        verbose_name = _("cross-reference")
        verbose_name_plural = _("cross-references")

    def __str__(self) -> str:
        return f"{self.source_record_id} → {self.golden_id}"
