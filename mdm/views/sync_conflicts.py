"""Sync conflicts with ERP/CRM targets: a list, a detail page (base, ours
and theirs side by side) and the steward's actions. Viewers read them with
personal data masked; stewards and admins decide."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mdm.masking import mask_json
from mdm.models import SyncConflict
from mdm.selectors.roles import user_role
from mdm.selectors.sync_conflicts import sync_conflict_list
from mdm.services.sync_conflicts import (
    OURS,
    THEIRS,
    sync_conflict_decide,
    sync_conflict_recreate,
    sync_conflict_unlink,
)
from mdm.views.access import reader_required, steward_required

PAGE_SIZE = 50


@reader_required
@require_GET
def conflict_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", SyncConflict.State.OPEN)
    rows = sync_conflict_list(state=state)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "mdm/sync_conflicts/list.html",
        {"page": page, "state": state, "states": SyncConflict.State.choices},
    )


@reader_required
@require_GET
def conflict_detail(request: HttpRequest, pk: int) -> HttpResponse:
    conflict = get_object_or_404(SyncConflict.objects.select_related("target"), pk=pk)
    reveal = user_role(request.user).sees_personal_data
    fields = [
        {
            "path": path,
            **{
                side: _shown(values.get(side), reveal)
                for side in ("base", OURS, THEIRS)
            },
            "decision": conflict.decisions.get(path, ""),
        }
        for path, values in sorted(conflict.fields.items())
    ]
    return render(
        request,
        "mdm/sync_conflicts/detail.html",
        {
            "conflict": conflict,
            "fields": fields,
            "detail": conflict.detail if reveal else mask_json(conflict.detail),
            "can_act": user_role(request.user).can_decide
            and conflict.state == SyncConflict.State.OPEN,
        },
    )


def _shown(value: Any, reveal: bool) -> str:
    if value in (None, "", [], {}):
        return ""
    return str(value if reveal else mask_json(value))


@steward_required
@require_POST
def conflict_decide(request: HttpRequest, pk: int) -> HttpResponse:
    conflict = get_object_or_404(SyncConflict, pk=pk)
    every = request.POST.get("all")
    choices = {
        path: every or request.POST.get(f"field:{path}", "") for path in conflict.fields
    }
    sync_conflict_decide(conflict=conflict, user=request.user, choices=choices)
    messages.success(request, _("Decided; the delivery is queued again."))
    return redirect("sync_conflict", pk=pk)


@steward_required
@require_POST
def conflict_recreate(request: HttpRequest, pk: int) -> HttpResponse:
    conflict = get_object_or_404(SyncConflict, pk=pk)
    sync_conflict_recreate(conflict=conflict, user=request.user)
    messages.success(request, _("The record will be created in the target again."))
    return redirect("sync_conflict", pk=pk)


@steward_required
@require_POST
def conflict_unlink(request: HttpRequest, pk: int) -> HttpResponse:
    conflict = get_object_or_404(SyncConflict, pk=pk)
    sync_conflict_unlink(conflict=conflict, user=request.user)
    messages.success(request, _("Unlinked from the target record."))
    return redirect("sync_conflict", pk=pk)
