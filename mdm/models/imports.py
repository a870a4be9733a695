"""Bulk imports of customer files and the rows they could not take."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for mapping confirmation")
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    class Mode(models.TextChoices):
        PER_ROW = "per_row", _("import good rows, report bad ones")
        ALL_OR_NOTHING = "all_or_nothing", _("all or nothing")
        # Everything a per-row import does, rolled back: its counts and
        # error report, nothing written (mdm/services/imports.py).
        CHECK = "check", _("check only: count and report, write nothing")

    source_system = models.ForeignKey(
        "mdm.SourceSystem", on_delete=models.PROTECT, related_name="imports"
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("sha256"), max_length=64, db_index=True)
    format = models.CharField(_("format"), max_length=16, blank=True)
    encoding = models.CharField(_("encoding"), max_length=32, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    # The workbook's sheets in its order, as found on upload ([] for text).
    sheet_names = models.JSONField(
        _("sheets of the workbook"), default=list, blank=True, editable=False
    )
    hidden_sheets = models.JSONField(
        _("hidden sheets"), default=list, blank=True, editable=False
    )
    # The import of another sheet of the same workbook that this one was
    # confirmed with (same file, same mapping): it runs after it.
    part_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="other_sheets",
        verbose_name=_("confirmed with"),
    )
    # The check-only import (Mode.CHECK) this import was made from.
    from_check = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="imports_made",
        verbose_name=_("made from the check"),
    )
    # {"header text": "field" | null}; confirmed by the importer before running.
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    header_row = models.PositiveIntegerField(_("header row"), null=True, blank=True)
    # A JSON document's layout (mdm.importing.json_documents.Layout) found
    # at upload: later openings of the stored file skip the pass finding it.
    layout = models.JSONField(_("JSON layout"), null=True, blank=True, editable=False)
    mode = models.CharField(
        _("mode"), max_length=16, choices=Mode, default=Mode.PER_ROW
    )
    # A row with neither name nor ID continues the customer above it (a
    # sheet listing contacts under their customer, its name not repeated:
    # mdm/services/merged_rows.py).
    blank_rows_continue = models.BooleanField(
        _("rows without a name or ID continue the customer above"), default=False
    )
    run_matching = models.BooleanField(_("match after loading"), default=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status, default=Status.PENDING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    failed_count = models.PositiveIntegerField(_("rejected"), default=0)
    # Rows that continued the customer above them (its name cell merged down
    # over theirs: mdm/services/merged_rows.py), counted in no other count.
    joined_count = models.PositiveIntegerField(
        _("rows joined to the customer above"), default=0
    )
    # What matching after the load did (mdm/services/import_matching.py):
    # {"path": "one_by_one" | "batch", "records": …, "placed": …, and the
    # counts of its outcomes}, updated as it goes.
    matching = models.JSONField(_("matching"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} → {self.source_system_id} ({self.status})"

    @property
    def progress(self) -> float:
        return self.processed_rows / self.total_rows if self.total_rows else 0.0


class ImportRowError(models.Model):
    job = models.ForeignKey(
        ImportJob, on_delete=models.CASCADE, related_name="row_errors"
    )
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=255, blank=True)
    code = models.CharField(_("code"), max_length=32)
    message = models.TextField(_("message"))
    values = models.JSONField(_("row values"), default=list, blank=True)

    class Meta:
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        ordering = ["row", "id"]
