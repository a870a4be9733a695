"""The golden record page (ID card, members, lineage, timeline), a source
record's raw payload, and the steward's unmerge and unpin actions."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mdm.forms import PinForm, UnmergeForm, UnpinForm
from mdm.golden_ids import InvalidGoldenId
from mdm.models import GoldenRecord, SourceRecord, StewardDecision
from mdm.selectors import (
    GoldenResolution,
    golden_record_members,
    golden_record_resolve,
    golden_record_timeline,
    source_record_get,
    user_role,
)
from mdm.services.golden_records import golden_record_pin_clear, golden_record_pin_set
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
    reveal = user_role(request.user).sees_personal_data
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
def source_record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = source_record_get(get_object_or_404(SourceRecord.objects, pk=pk).pk)
    reveal = user_role(request.user).sees_personal_data
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
