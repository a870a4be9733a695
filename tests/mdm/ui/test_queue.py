"""The review queue page: filters, sorting, pagination, counts, claims and
bulk approval."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mdm.models import ReviewTask, StewardDecision
from mdm.services.steward_queue import review_task_claim
from tests.mdm.ui.helpers import make_steward, make_task

pytestmark = pytest.mark.django_db


def listed(response) -> list[int]:
    return [task.pk for task in response.context["page"]]


def test_the_queue_lists_open_tasks_best_first_with_counts(steward_client):
    low, high = make_task(score=0.62), make_task(score=0.93)
    response = steward_client.get(reverse("queue"))
    assert response.status_code == 200
    assert listed(response) == [high.pk, low.pk]
    counts = response.context["counts"]
    assert (counts.open, counts.unassigned, counts.mine) == (2, 2, 0)
    assert dict(counts.bands)["0.9–1.0"] == 1
    html = response.content.decode()
    assert reverse("task", args=[high.pk]) in html
    assert "华盛科技(北京)有限公司" in html


def test_the_queue_filters_by_score_system_assignee_conflict_and_age(
    steward_client, steward
):
    high = make_task(score=0.95)
    crm = make_task(right={"system": "crm", "Name": "华盛科技"}, score=0.7)
    old = make_task(score=0.6)
    ReviewTask.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    conflict = make_task(
        {"FName": "甲公司", "FTaxRegisterCode": "91110108MA01KPGK0L"},
        {"FName": "甲公司", "FTaxRegisterCode": "91310115MA1H7GQX0X"},
        score=0.75,
    )
    review_task_claim(task=high, steward=steward)
    queue = reverse("queue")
    assert listed(steward_client.get(queue, {"band": "0"})) == [high.pk]
    assert listed(steward_client.get(queue, {"assignee": "me"})) == [high.pk]
    assert high.pk not in listed(steward_client.get(queue, {"assignee": "none"}))
    assert listed(steward_client.get(queue, {"uscc_conflict": "yes"})) == [conflict.pk]
    assert listed(steward_client.get(queue, {"age": "gt7"})) == [old.pk]
    assert old.pk not in listed(steward_client.get(queue, {"age": "lt1"}))
    assert listed(steward_client.get(queue, {"system": "crm"})) == [crm.pk]
    assert listed(steward_client.get(queue, {"system": "legacy"})) == []


def test_the_queue_sorts_and_paginates(steward_client):
    tasks = [make_task(score=0.5 + i / 100) for i in range(27)]
    first = steward_client.get(reverse("queue"), {"sort": "score"})
    assert listed(first) == [t.pk for t in tasks[:25]]
    second = steward_client.get(reverse("queue"), {"sort": "score", "page": 2})
    assert listed(second) == [t.pk for t in tasks[25:]]
    assert (
        second.context["page"].number,
        second.context["page"].paginator.num_pages,
    ) == (
        2,
        2,
    )


def test_an_htmx_request_gets_only_the_results(steward_client):
    make_task()
    response = steward_client.get(
        reverse("queue"), {"band": "1"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results">')
    assert "<header" not in html


def test_claim_and_release_from_the_list(steward_client, steward):
    task = make_task()
    response = steward_client.post(
        reverse("task_claim", args=[task.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith("<tr")
    assert ReviewTask.objects.get(pk=task.pk).assignee == steward
    steward_client.post(reverse("task_release", args=[task.pk]))
    assert ReviewTask.objects.get(pk=task.pk).assignee is None


def test_assign_to_another_steward(steward_client):
    task = make_task()
    bob = make_steward("bob")
    response = steward_client.post(
        reverse("task_assign", args=[task.pk]), {"assignee": "bob"}
    )
    assert response.status_code == 302
    assert ReviewTask.objects.get(pk=task.pk).assignee == bob


def test_bulk_approval_lists_then_merges_the_tasks_above_the_score(steward_client):
    good, other = make_task(score=0.97), make_task(score=0.96)
    below = make_task(score=0.8)
    preview = steward_client.get(reverse("queue_bulk"), {"min_score": "0.95"})
    assert preview.status_code == 200
    listed_tasks = [c.task.pk for c in preview.context["candidates"]]
    assert listed_tasks == [good.pk, other.pk]
    items = preview.context["confirm"].initial["items"]
    response = steward_client.post(
        reverse("queue_bulk"), {"min_score": "0.95", "items": items, "reason": "ok"}
    )
    assert response.status_code == 302
    statuses = dict(ReviewTask.objects.values_list("pk", "status"))
    assert statuses == {good.pk: "merged", other.pk: "merged", below.pk: "open"}
    assert StewardDecision.objects.filter(kind="merge").count() == 2


def test_a_bulk_score_below_the_review_band_is_refused(steward_client):
    response = steward_client.get(reverse("queue_bulk"), {"min_score": "0.1"})
    assert response.status_code == 302


def test_a_refused_htmx_claim_says_why_in_plain_text(steward_client):
    task = make_task()
    review_task_claim(task=task, steward=make_steward("bob"))
    response = steward_client.post(
        reverse("task_claim", args=[task.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/plain")
    assert "bob" in response.content.decode()
