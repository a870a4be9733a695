"""Bulk import pages: upload, confirm the column mapping (optionally saving it
as a profile), follow progress, download the error report; and the list of
import profiles. The import itself runs in the background worker."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from mdm.api.throttling import RateLimitStoreUnavailable, rate_limit_hit
from mdm.forms import (
    IMPORT_FIELD_LABELS,
    ImportConfirmForm,
    ImportSheetForm,
    ImportUploadForm,
    import_field_choices,
)
from mdm.import_messages import import_file_error_text
from mdm.importing import ImportFileError
from mdm.models import ImportJob, ImportProfile, ImportProfileUse, SourceSystem
from mdm.selectors.imports import (
    import_job_made_from_check_get,
    import_job_sheet_list,
)
from mdm.selectors.roles import user_role
from mdm.services.errors import DomainError
from mdm.services.import_profiles import (
    ImportProfileError,
    import_job_confirm_with_profile,
    import_job_create_with_profile,
    import_job_sheet_choose_with_profile,
    import_profile_delete,
)
from mdm.services.import_reports import import_error_report
from mdm.services.imports import (
    import_job_import_checked,
    import_job_preview,
    import_job_rows_that_may_continue,
)
from mdm.tasks import import_run
from mdm.views.access import reader_required, steward_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@steward_required
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        refusal = _rate_limited(request)
        if refusal is not None:
            status, retry_after = refusal
            form.add_error(
                None,
                _("Too many imports: try again in %(seconds)d seconds.")
                % {"seconds": retry_after},
            )
            response = _list(request, form, status=status)
            response["Retry-After"] = str(retry_after)
            return response
        data = form.cleaned_data
        try:
            job = import_job_create_with_profile(
                system=data["source_system"],
                content=data["file"].read(),
                filename=data["file"].name,
                profile=data["profile"],
                options=form.options(),
                user=request.user,
            )
        except ImportFileError as exc:
            form.add_error("file", import_file_error_text(exc))
        except ImportProfileError as exc:
            form.add_error("profile", str(exc))
        else:
            return redirect("import_detail", pk=job.pk)
    return _list(request, form, status=400 if form.errors else 200)


def _list(request: HttpRequest, form: ImportUploadForm, *, status: int) -> HttpResponse:
    jobs = ImportJob.objects.select_related("source_system", "profile_use")[:50]
    return render(
        request, "imports/list.html", {"form": form, "jobs": jobs}, status=status
    )


def _rate_limited(request: HttpRequest) -> tuple[int, int] | None:
    """(status, Retry-After seconds) when this steward has started
    IMPORT_RATE imports already (RELIABILITY W6), else None."""
    key = f"ratelimit:import:user:{request.user.pk}"
    try:
        allowed, retry_after = rate_limit_hit(key, settings.IMPORT_RATE)
    except RateLimitStoreUnavailable:
        return 503, RateLimitStoreUnavailable.wait
    return None if allowed else (429, math.ceil(retry_after))


@steward_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("source_system"), pk=pk)
    return _detail(request, job, form=None)


@steward_required
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("source_system"), pk=pk)
    form = ImportConfirmForm(request.POST, job=job)
    if not form.is_valid():
        return _detail(request, job, form=form, status=400)
    try:
        saved = import_job_confirm_with_profile(
            job=job,
            mapping=form.mapping(),
            user=request.user,
            save_as=form.save_as(),
            update=form.update(),
            blank_rows_continue=form.cleaned_data["blank_rows_continue"],
            other_sheets=form.cleaned_data["other_sheets"],
        )
    except DomainError as exc:
        job.refresh_from_db()  # the confirmation was rolled back
        if job.status != ImportJob.Status.PENDING:
            raise
        form.add_error(None, str(exc))
        return _detail(request, job, form=form, status=400)
    import_run.enqueue(job.pk)
    if saved is not None:
        messages.success(
            request, _("Mapping saved as profile %(name)s.") % {"name": saved.name}
        )
    return redirect("import_detail", pk=job.pk)


@steward_required
@require_POST
def import_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("source_system"), pk=pk)
    form = ImportSheetForm(request.POST, job=job)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("sheet", [])))
        return redirect("import_detail", pk=job.pk)
    try:
        import_job_sheet_choose_with_profile(job=job, sheet=form.cleaned_data["sheet"])
    except ImportFileError as exc:
        messages.error(request, import_file_error_text(exc))
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("import_detail", pk=job.pk)


@steward_required
@require_POST
def import_checked_run(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("source_system"), pk=pk)
    try:
        first = import_job_import_checked(job=job, user=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("import_detail", pk=job.pk)
    import_run.enqueue(first.pk)
    return redirect("import_detail", pk=first.pk)


@steward_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    return render(request, "imports/_progress.html", _progress(job))


@steward_required
@require_GET
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    response = HttpResponse(import_error_report(job=job), content_type=XLSX)
    # A workbook's imports are one per sheet: the sheet tells their reports apart.
    sheet = f"-{job.sheet}" if job.sheet_names[1:] else ""
    response["Content-Disposition"] = content_disposition_header(
        True, f"import-{job.pk}{sheet}-errors.xlsx"
    )
    return response


@reader_required
@require_GET
def import_profile_list(request: HttpRequest) -> HttpResponse:
    systems = SourceSystem.objects.order_by("code")
    profiles = ImportProfile.objects.select_related(
        "source_system", "created_by", "updated_by"
    ).order_by("source_system__code", "name")
    by_system: dict[str, list[tuple[ImportProfile, list]]] = {
        s.code: [] for s in systems
    }
    for profile in profiles:
        columns = [
            (header, IMPORT_FIELD_LABELS.get(field, field) if field else None)
            for header, field in profile.mapping.items()
        ]
        by_system[profile.source_system.code].append((profile, columns))
    context = {
        "groups": [(system, by_system[system.code]) for system in systems],
        "can_delete": user_role(request.user).can_decide,
    }
    return render(request, "imports/profiles.html", context)


@steward_required
@require_POST
def import_profile_remove(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(
        ImportProfile.objects.select_related("source_system"), pk=pk
    )
    import_profile_delete(profile=profile, user=request.user)
    messages.success(
        request,
        _("Profile %(name)s of %(system)s deleted.")
        % {"name": profile.name, "system": profile.source_system.code},
    )
    return redirect("import_profiles")


def _progress(job: ImportJob) -> dict[str, Any]:
    sheets = import_job_sheet_list(job=job)
    busy = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
    sheets_busy = any(other.status in busy for other in sheets)
    checked = job.mode == ImportJob.Mode.CHECK
    made = import_job_made_from_check_get(job=job) if checked else None
    return {
        "job": job,
        "may_continue": import_job_rows_that_may_continue(job=job),
        "sheet_imports": sheets,
        "sheets_busy": sheets_busy,
        "made_from_check": made,
        "can_import_checked": checked
        and made is None
        and job.status == ImportJob.Status.DONE
        and not sheets_busy
        and all(other.status == ImportJob.Status.DONE for other in sheets),
    }


def _detail(
    request: HttpRequest, job: ImportJob, *, form: ImportConfirmForm | None, status=200
) -> HttpResponse:
    context: dict[str, Any] = {
        **_progress(job),
        "use": ImportProfileUse.objects.filter(job=job).first(),
    }
    if job.status == ImportJob.Status.PENDING:
        context.update(_confirmation(job, form, context["use"]))
    return render(request, "imports/detail.html", context, status=status)


def _confirmation(
    job: ImportJob, form: ImportConfirmForm | None, use: ImportProfileUse | None
) -> dict[str, Any]:
    """The mapping table (posted choices win over the stored mapping, so a
    refused confirmation keeps what the importer chose) and the save form."""
    preview = import_job_preview(job=job)
    new = set(use.new_columns) if use else set()
    chosen = form.mapping() if form is not None and form.is_valid() else {}
    columns = []
    for column in preview.mapping.columns if preview.mapping else []:
        if not column.header:
            continue
        examples = [
            row[column.index] if column.index < len(row) else ""
            for row in preview.sample
        ]
        field = chosen.get(column.header, column.field)
        columns.append((column, field, column.header in new, examples))
    if form is None:
        initial = {"profile": use.profile_id} if use and use.profile_id else {}
        form = ImportConfirmForm(initial=initial, job=job)
    return {
        "preview": preview,
        "columns": columns,
        "fields": import_field_choices(),
        "confirm_form": form,
        "sheet_form": ImportSheetForm(job=job) if len(job.sheet_names) > 1 else None,
        "has_profiles": form.fields["profile"].queryset.exists(),
    }
