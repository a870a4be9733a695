"""The golden record page (ID card, members, lineage, timeline), a source
record's raw payload, and the steward's unmerge, split and unpin actions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from mdm.forms import (
    GROUP_PREFIX,
    PinForm,
    SplitConfirmForm,
    SplitForm,
    SplitUndoForm,
    UnmergeForm,
    UnpinForm,
)
from mdm.golden_ids import InvalidGoldenId
from mdm.models import GoldenRecord, SourceRecord, StewardDecision
from mdm.selectors.golden_records import (
    GoldenResolution,
    golden_record_members,
    golden_record_resolve,
    source_record_get,
)
from mdm.selectors.roles import user_role
from mdm.selectors.timeline import golden_record_timeline
from mdm.services.golden_records import golden_record_pin_clear, golden_record_pin_set
from mdm.services.pii_access import personal_data_shown
from mdm.services.split import (
    SplitError,
    golden_record_split,
    golden_record_split_plan,
    golden_record_split_undo,
)
from mdm.services.unmerge import golden_record_unmerge
from mdm.views.access import reader_required, steward_required
from mdm.views.display import (
    attribute_rows,
    change_rows,
    golden_values,
    payload_text,
)


def _resolve(golden_id: str) -> GoldenResolution:
    try:
        return golden_record_resolve(golden_id)
    except (InvalidGoldenId, GoldenRecord.DoesNotExist):
        raise Http404(_("No golden record %(id)s.") % {"id": golden_id}) from None


@reader_required
@require_GET
def golden_detail(request: HttpRequest, golden_id: str) -> HttpResponse:
    resolution = _resolve(golden_id)
    golden = resolution.record
    if golden.golden_id != golden_id:
        if len(resolution.chain) > 1:
            messages.info(
                request,
                _("%(old)s was merged into %(new)s.")
                % {"old": resolution.chain[0], "new": golden.golden_id},
            )
        return redirect("golden", golden.golden_id)
    reveal = personal_data_shown(
        user=request.user,
        object_type="golden",
        object_refs=[golden.golden_id],
        where="golden record page",
    )
    timeline = [
        (event, change_rows(event.changes, reveal=reveal))
        for event in golden_record_timeline(golden)
    ]
    context = {
        "golden": golden,
        "card": attribute_rows(golden_values(golden), golden.lineage, reveal=reveal),
        "members": golden_record_members(golden),
        "absorbed": golden.absorbed.order_by("golden_id"),
        "timeline": timeline,
        "unmerge_form": UnmergeForm(initial={"version": golden.version}),
    }
    return render(request, "mdm/golden.html", context)


@reader_required
@require_GET
def source_record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = source_record_get(get_object_or_404(SourceRecord.objects, pk=pk).pk)
    reveal = personal_data_shown(
        user=request.user,
        object_type="source",
        object_refs=[record.key],
        where="source record page",
    )
    context = {
        "record": record,
        "payload": payload_text(record.raw_payload, reveal=reveal),
        "golden": getattr(getattr(record, "xref", None), "golden", None),
    }
    partial = request.htmx and not request.htmx.boosted
    template = "mdm/_payload.html" if partial else "mdm/source_record.html"
    return render(request, template, context)


@steward_required
@require_POST
def golden_unmerge(request: HttpRequest, golden_id: str, decision: int) -> HttpResponse:
    golden = _resolve(golden_id).record
    merge = get_object_or_404(
        StewardDecision.objects, pk=decision, kind=StewardDecision.Kind.MERGE
    )
    form = UnmergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the merge is undone."))
        return redirect("golden", golden.golden_id)
    golden_record_unmerge(
        decision=merge,
        steward=request.user,
        reason=form.cleaned_data["reason"],
        expected_version=form.cleaned_data["version"],
    )
    messages.success(
        request,
        _("Merge undone: %(ids)s live again.")
        % {"ids": ", ".join(merge.details["absorbed"])},
    )
    return redirect("golden", golden.golden_id)


@steward_required
@require_http_methods(["GET", "POST"])
def golden_split(request: HttpRequest, golden_id: str) -> HttpResponse:
    """Put each member in a group, see the records the split would make
    (htmx swaps the preview in as the choices change), then confirm."""
    golden = _resolve(golden_id).record
    if golden.golden_id != golden_id:
        return redirect("golden_split", golden.golden_id)
    members = golden_record_members(golden)
    errors = {}
    if request.method == "POST":
        # The groups as the steward saw them: the service refuses a stale
        # version first (409), then a partition that no longer fits.
        posted = sorted(
            int(name.removeprefix(GROUP_PREFIX))
            for name in request.POST
            if name.startswith(GROUP_PREFIX)
            and name.removeprefix(GROUP_PREFIX).isdigit()
        )
        confirm = SplitConfirmForm(request.POST, member_ids=posted)
        if confirm.is_valid():
            decision = golden_record_split(
                golden=golden,
                groups=confirm.groups(),
                keep=confirm.cleaned_data["keep"],
                steward=request.user,
                reason=confirm.cleaned_data["reason"],
                expected_version=confirm.cleaned_data["version"],
            )
            messages.success(
                request,
                _("Split: %(ids)s created.")
                % {"ids": ", ".join(decision.details["created"])},
            )
            return redirect("golden", golden.golden_id)
        errors = confirm.errors
    form = SplitForm(
        request.POST if errors else request.GET or None,
        member_ids=[xref.source_record_id for xref in members],
    )
    context = {
        "golden": golden,
        "form": form,
        "rows": [(x, form[f"{GROUP_PREFIX}{x.source_record_id}"]) for x in members],
        "errors": errors,
        **_split_preview(request, golden, form),
    }
    partial = request.htmx and not request.htmx.boosted
    template = "mdm/_split_preview.html" if partial else "mdm/golden_split.html"
    return render(request, template, context, status=400 if errors else 200)


def _split_preview(
    request: HttpRequest, golden: GoldenRecord, form: SplitForm
) -> dict[str, Any]:
    if not (form.is_bound and form.is_valid()):
        return {"plan": [], "problem": "", "groups": {}}
    try:
        plan = golden_record_split_plan(
            golden=golden, groups=form.groups(), keep=form.cleaned_data["keep"]
        )
    except SplitError as exc:
        return {"plan": [], "problem": str(exc), "groups": {}}
    reveal = user_role(request.user).sees_personal_data
    return {
        "plan": [
            (group, attribute_rows(group.values, group.lineage, reveal=reveal))
            for group in plan
        ],
        "problem": "",
        "groups": form.groups(),
    }


@steward_required
@require_POST
def golden_split_undo(
    request: HttpRequest, golden_id: str, decision: int
) -> HttpResponse:
    golden = _resolve(golden_id).record
    split = get_object_or_404(
        StewardDecision.objects, pk=decision, kind=StewardDecision.Kind.SPLIT
    )
    if split.details.get("golden") != golden.golden_id:
        raise Http404(_("No such split of %(id)s.") % {"id": golden.golden_id})
    form = SplitUndoForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the split is undone."))
        return redirect("golden", golden.golden_id)
    golden_record_split_undo(
        decision=split,
        steward=request.user,
        reason=form.cleaned_data["reason"],
        expected_version=form.cleaned_data["version"],
    )
    messages.success(
        request,
        _("Split undone: %(ids)s merged back into %(id)s.")
        % {"ids": ", ".join(split.details["created"]), "id": golden.golden_id},
    )
    return redirect("golden", golden.golden_id)


@steward_required
@require_POST
def golden_pin(request: HttpRequest, golden_id: str) -> HttpResponse:
    golden = _resolve(golden_id).record
    form = PinForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an attribute and enter a value."))
        return redirect("golden", golden.golden_id)
    golden_record_pin_set(
        golden=golden,
        attribute=form.cleaned_data["attribute"],
        value=form.cleaned_data["value"],
        steward=request.user,
        expected_version=form.cleaned_data["version"],
    )
    messages.success(request, _("Saved: this value now wins over the sources."))
    return redirect("golden", golden.golden_id)


@steward_required
@require_POST
def golden_unpin(request: HttpRequest, golden_id: str) -> HttpResponse:
    golden = _resolve(golden_id).record
    form = UnpinForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The page was damaged; reload it."))
        return redirect("golden", golden.golden_id)
    golden_record_pin_clear(
        golden=golden,
        attribute=form.cleaned_data["attribute"],
        steward=request.user,
        expected_version=form.cleaned_data["version"],
    )
    messages.success(request, _("The value follows its sources again."))
    return redirect("golden", golden.golden_id)
