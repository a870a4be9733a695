"""Bulk import pages: upload, confirm the column mapping, follow progress,
download the error report. The import itself runs in the background worker."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from mdm.importing import ImportFileError
from mdm.importing.headers import SYNONYMS
from mdm.models import ImportJob, SourceSystem
from mdm.services.import_reports import import_error_report
from mdm.services.imports import (
    import_job_confirm,
    import_job_create,
    import_job_preview,
)
from mdm.tasks import import_run
from mdm.views.access import steward_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIELD_LABELS = {
    "legal_name": _("Customer name"),
    "short_name": _("Short name"),
    "uscc": _("USCC / tax ID"),
    "phones": _("Phone"),
    "emails": _("Email"),
    "address": _("Address"),
    "province": _("Province"),
    "city": _("City"),
    "district": _("District"),
    "contact": _("Contact"),
    "contact_title": _("Contact title"),
    "industry": _("Industry"),
    "customer_level": _("Customer level"),
    "source_id": _("Customer ID"),
    "created": _("Created on"),
}


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"))
    source_system = forms.ModelChoiceField(
        SourceSystem.objects.order_by("code"),
        label=_("Source system"),
        to_field_name="code",
    )
    mode = forms.ChoiceField(choices=ImportJob.Mode.choices, label=_("Mode"))
    encoding = forms.ChoiceField(
        required=False,
        label=_("Text encoding"),
        choices=[
            ("", _("detect")),
            ("utf-8", "UTF-8"),
            ("gb18030", "GBK / GB18030"),
            ("utf-16", "UTF-16"),
        ],
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            limit = settings.IMPORT_MAX_UPLOAD_BYTES // 2**20
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MiB.") % {"limit": limit}
            )
        return upload


@steward_required
def import_list(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = import_job_create(
                system=data["source_system"],
                content=data["file"].read(),
                filename=data["file"].name,
                user=request.user,
                mode=data["mode"],
                encoding=data["encoding"] or None,
            )
        except ImportFileError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("import_detail", pk=job.pk)
    status = 400 if form.errors else 200
    jobs = ImportJob.objects.select_related("source_system")[:50]
    return render(
        request, "imports/list.html", {"form": form, "jobs": jobs}, status=status
    )


@steward_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("source_system"), pk=pk)
    context = {"job": job}
    if job.status == ImportJob.Status.PENDING:
        preview = import_job_preview(job=job)
        columns = [
            (
                column,
                [
                    row[column.index] if column.index < len(row) else ""
                    for row in preview.sample
                ],
            )
            for column in (preview.mapping.columns if preview.mapping else [])
            if column.header
        ]
        context.update(preview=preview, columns=columns, fields=_field_choices())
    return render(request, "imports/detail.html", context)


@steward_required
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    mapping = {
        header: request.POST.get(f"map::{header}") or None for header in job.mapping
    }
    import_job_confirm(job=job, mapping=mapping)
    import_run.enqueue(job.pk)
    return redirect("import_detail", pk=job.pk)


@steward_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    return render(request, "imports/_progress.html", {"job": job})


@steward_required
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    response = HttpResponse(import_error_report(job=job), content_type=XLSX)
    response["Content-Disposition"] = (
        f'attachment; filename="import-{job.pk}-errors.xlsx"'
    )
    return response


def _field_choices() -> list[tuple[str, str]]:
    return [("", _("(ignore)"))] + [
        (field, FIELD_LABELS.get(field, field)) for field in SYNONYMS
    ]
