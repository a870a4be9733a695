"""The review queue and the review task page, with the steward's actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from mdm.forms import (
    AssignForm,
    BulkConfirmForm,
    BulkPreviewForm,
    DeferForm,
    MergeForm,
    QueueFilterForm,
    SkipForm,
    TaskDecisionForm,
    bulk_items_format,
    versions_format,
)
from mdm.id_card import SCALAR_ATTRIBUTES
from mdm.models import ReviewTask
from mdm.selectors.review_queue import (
    QueueFilters,
    TaskSide,
    review_queue_counts,
    review_task_bulk_candidates,
    review_task_default_keep,
    review_task_get,
    review_task_list,
    review_task_merge_candidates,
    review_task_neighbours,
    review_task_sides,
)
from mdm.selectors.roles import user_role
from mdm.services.golden_records import golden_record_merge_preview
from mdm.services.pii_access import personal_data_shown
from mdm.services.steward_queue import (
    BulkItem,
    review_task_assign,
    review_task_claim,
    review_task_defer,
    review_task_merge,
    review_task_not_a_match,
    review_task_release,
    review_task_reopen,
    review_task_skip,
    review_tasks_bulk_approve,
)
from mdm.views.access import reader_required, steward_required
from mdm.views.display import attribute_rows, comparison_rows, evidence_rows

PAGE_SIZE = 25
FILTER_FIELDS = tuple(QueueFilterForm.base_fields)


def _queue_query(params: QueryDict) -> str:
    """The queue's filters as a query string, carried from page to page."""
    return urlencode(
        [(key, params[key]) for key in FILTER_FIELDS if params.get(key)], doseq=False
    )


def _filters(request: HttpRequest) -> QueueFilters:
    return QueueFilterForm(request.GET).filters()


@reader_required
@require_GET
def queue_list(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    tasks = review_task_list(
        filters=form.filters(), user=request.user, now=timezone.now()
    )
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "counts": review_queue_counts(user=request.user),
        "queue_query": _queue_query(request.GET),
        "bulk_form": BulkPreviewForm(initial={"min_score": 0.95}),
    }
    partial = request.htmx and not request.htmx.boosted
    template = "mdm/queue/_results.html" if partial else "mdm/queue/list.html"
    return render(request, template, context)


def _task_or_404(pk: int) -> ReviewTask:
    try:
        return review_task_get(pk)
    except ReviewTask.DoesNotExist:
        raise Http404 from None


@reader_required
@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _task_page(request, _task_or_404(pk))


@reader_required
@require_GET
def task_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The merged golden record as the steward's current choices would make it
    (htmx swaps it in as radio buttons change)."""
    left, right = review_task_sides(_task_or_404(pk))
    keep = request.GET.get("keep") or review_task_default_keep(left, right)
    picks = _valid_picks(request.GET, review_task_merge_candidates(left, right))
    context = _preview_context(request, left, right, keep=keep, picks=picks)
    return render(request, "mdm/queue/_preview.html", context)


def _task_page(
    request: HttpRequest,
    task: ReviewTask,
    *,
    merge_form: MergeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    role = user_role(request.user)
    left, right = review_task_sides(task)
    candidates = review_task_merge_candidates(left, right)
    data = merge_form.data if merge_form is not None else QueryDict()
    keep = data.get("keep") or review_task_default_keep(left, right)
    picks = _valid_picks(data, candidates)
    before, after = review_task_neighbours(
        task=task, filters=_filters(request), user=request.user, now=timezone.now()
    )
    weighed, no_evidence = evidence_rows(task.evidence)
    same_golden = left.golden.pk == right.golden.pk
    context: dict[str, Any] = {
        "task": task,
        "left": left,
        "right": right,
        "sides": [left, right],
        "same_golden": same_golden,
        "evidence": weighed,
        "no_evidence": no_evidence,
        "before": before,
        "after": after,
        "queue_query": _queue_query(request.GET),
        "keep": keep,
        "versions": versions_format(
            {
                left.golden.golden_id: left.golden.version,
                right.golden.golden_id: right.golden.version,
            }
        ),
        "merge_form": merge_form,
        "assign_form": AssignForm(),
        "is_open": task.status == ReviewTask.Status.OPEN,
    }
    choices: dict[str, dict[str, Any]] = {}
    if not same_golden:
        context.update(_preview_context(request, left, right, keep=keep, picks=picks))
        if role.can_decide and context["is_open"]:
            choices = _choices(candidates, context["auto"], picks)
    context["choices"] = choices
    reveal = personal_data_shown(
        user=request.user,
        object_type="source",
        object_refs=[left.record.key, right.record.key],
        where=f"review task {task.pk}",
    )
    context["rows"] = [
        (row, choices.get(row.attribute))
        for row in comparison_rows(left.record, right.record, reveal=reveal)
    ]
    return render(request, "mdm/queue/task.html", context, status=status)


def _valid_picks(
    data: QueryDict, candidates: dict[str, dict[str, list[str]]]
) -> dict[str, str]:
    return {
        attribute: data[f"pick_{attribute}"]
        for attribute in SCALAR_ATTRIBUTES
        if data.get(f"pick_{attribute}") in candidates.get(attribute, [])
    }


def _preview_context(
    request: HttpRequest,
    left: TaskSide,
    right: TaskSide,
    *,
    keep: str,
    picks: dict[str, str],
) -> dict[str, Any]:
    reveal = user_role(request.user).sees_personal_data
    survivor, absorbed = (left, right) if keep == "left" else (right, left)
    auto, _auto_lineage = golden_record_merge_preview(
        survivor=survivor.golden,
        absorbed=[absorbed.golden],
        overrides={},
        steward=request.user,
    )
    values, lineage = golden_record_merge_preview(
        survivor=survivor.golden,
        absorbed=[absorbed.golden],
        overrides=picks,
        steward=request.user,
    )
    return {
        "auto": auto,
        "preview_rows": attribute_rows(values, lineage, reveal=reveal),
        "preview_golden_id": survivor.golden.golden_id,
        "picked": set(picks),
    }


def _choices(
    candidates: dict[str, dict[str, list[str]]],
    auto: dict[str, Any],
    picks: dict[str, str],
) -> dict[str, dict[str, Any]]:
    """Per scalar attribute with more than one value: the automatic value and
    the others, each with the source records that hold it."""
    return {
        attribute: {
            "auto": auto.get(attribute, ""),
            "picked": picks.get(attribute, ""),
            "others": [
                (value, sources)
                for value, sources in offers.items()
                if value != auto.get(attribute)
            ],
        }
        for attribute, offers in candidates.items()
        if len(offers) > 1
    }


def _next_url(request: HttpRequest, task: ReviewTask) -> str:
    """Where to go after deciding `task`: the next task in the same queue."""
    _before, after = review_task_neighbours(
        task=task, filters=_filters(request), user=request.user, now=timezone.now()
    )
    query = _queue_query(request.GET)
    url = reverse("task", args=[after]) if after else reverse("queue")
    return f"{url}?{query}" if query else url


def _golden_link(golden_id: str) -> str:
    return format_html(
        '<a href="{}">{}</a>', reverse("golden", args=[golden_id]), golden_id
    )


@steward_required
@require_POST
def task_merge(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_or_404(pk)
    left, right = review_task_sides(task)
    form = MergeForm(request.POST, candidates=review_task_merge_candidates(left, right))
    if not form.is_valid():
        return _task_page(request, task, merge_form=form, status=400)
    next_url = _next_url(request, task)
    golden = review_task_merge(
        task=task,
        steward=request.user,
        reason=form.cleaned_data["reason"],
        keep=form.cleaned_data["keep"],
        overrides=form.overrides(),
        versions=form.cleaned_data["versions"],
    )
    messages.success(
        request,
        format_html(_("Merged into {}."), _golden_link(golden.golden_id)),
    )
    return redirect(next_url)


@steward_required
@require_POST
def task_not_a_match(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_or_404(pk)
    form = TaskDecisionForm(request.POST)
    if not form.is_valid():
        return _task_page(request, task, status=400)
    next_url = _next_url(request, task)
    review_task_not_a_match(
        task=task,
        steward=request.user,
        reason=form.cleaned_data["reason"],
        versions=form.cleaned_data["versions"],
    )
    messages.success(
        request,
        _("%(left)s and %(right)s are different customers; this is remembered.")
        % {"left": task.left.key, "right": task.right.key},
    )
    return redirect(next_url)


@steward_required
@require_POST
def task_skip(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_or_404(pk)
    form = SkipForm(request.POST)
    form.is_valid()
    next_url = _next_url(request, task)
    review_task_skip(
        task=task, steward=request.user, comment=form.cleaned_data.get("comment", "")
    )
    messages.info(request, _("Task %(pk)s skipped.") % {"pk": task.pk})
    return redirect(next_url)


@steward_required
@require_POST
def task_defer(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_or_404(pk)
    form = DeferForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the task is deferred."))
        return _task_page(request, task, status=400)
    next_url = _next_url(request, task)
    review_task_defer(
        task=task, steward=request.user, comment=form.cleaned_data["comment"]
    )
    messages.info(request, _("Task %(pk)s deferred.") % {"pk": task.pk})
    return redirect(next_url)


@steward_required
@require_POST
def task_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_or_404(pk)
    review_task_reopen(task=task, steward=request.user)
    messages.info(request, _("Task %(pk)s is open again.") % {"pk": task.pk})
    return redirect(_task_url(request, task))


@steward_required
@require_POST
def task_claim(request: HttpRequest, pk: int) -> HttpResponse:
    task = review_task_claim(task=_task_or_404(pk), steward=request.user)
    return _after_claim_change(request, task)


@steward_required
@require_POST
def task_release(request: HttpRequest, pk: int) -> HttpResponse:
    task = review_task_release(task=_task_or_404(pk), steward=request.user)
    return _after_claim_change(request, task)


@steward_required
@require_POST
def task_assign(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_or_404(pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a steward."))
        return redirect(_task_url(request, task))
    task = review_task_assign(
        task=task, assignee=form.cleaned_data["assignee"], steward=request.user
    )
    return _after_claim_change(request, task)


def _task_url(request: HttpRequest, task: ReviewTask) -> str:
    query = _queue_query(request.GET)
    url = reverse("task", args=[task.pk])
    return f"{url}?{query}" if query else url


def _after_claim_change(request: HttpRequest, task: ReviewTask) -> HttpResponse:
    if request.htmx:
        row = review_task_get(task.pk)
        context = {"task": row, "queue_query": _queue_query(request.GET)}
        return render(request, "mdm/queue/_row.html", context)
    return redirect(_task_url(request, task))


@steward_required
@require_http_methods(["GET", "POST"])
def queue_bulk(request: HttpRequest) -> HttpResponse:
    """GET: the tasks a bulk approval would merge, for confirmation.
    POST: merge them (those still as listed)."""
    if request.method == "POST":
        return _bulk_approve(request)
    form = BulkPreviewForm(request.GET)
    if not form.is_valid():
        messages.error(request, _("Choose a score between 0.5 and 1."))
        query = _queue_query(request.GET)
        return redirect(f"{reverse('queue')}?{query}")
    min_score = form.cleaned_data["min_score"]
    candidates = review_task_bulk_candidates(
        filters=_filters(request),
        min_score=min_score,
        user=request.user,
        now=timezone.now(),
    )
    items = [BulkItem(task_id=c.task.pk, versions=c.versions) for c in candidates]
    confirm = BulkConfirmForm(
        initial={"min_score": min_score, "items": bulk_items_format(items)}
    )
    context = {
        "candidates": candidates,
        "min_score": min_score,
        "confirm": confirm,
        "queue_query": _queue_query(request.GET),
    }
    return render(request, "mdm/queue/bulk.html", context)


def _bulk_approve(request: HttpRequest) -> HttpResponse:
    form = BulkConfirmForm(request.POST)
    query = _queue_query(request.GET)
    if not form.is_valid():
        messages.error(request, _("The page was damaged; reload it."))
        return redirect(f"{reverse('queue')}?{query}")
    outcome = review_tasks_bulk_approve(
        items=form.cleaned_data["items"],
        min_score=form.cleaned_data["min_score"],
        steward=request.user,
        reason=form.cleaned_data["reason"] or _("bulk approval"),
    )
    merged = len(outcome.merged)
    messages.success(
        request,
        ngettext("%(n)d task merged.", "%(n)d tasks merged.", merged) % {"n": merged},
    )
    for task_id, why in outcome.left_alone:
        messages.warning(
            request, _("Task %(pk)s left alone: %(why)s") % {"pk": task_id, "why": why}
        )
    return redirect(f"{reverse('queue')}?{query}")
