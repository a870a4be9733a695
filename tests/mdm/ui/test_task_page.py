"""The review task page and its decisions through HTTP."""

import pytest
from django.urls import reverse

from mdm.models import GoldenRecord, ReviewTask, StewardDecision
from mdm.services.golden_records import golden_record_recompute
from mdm.services.steward_queue import review_task_claim
from tests.mdm.ui.helpers import (
    EVIDENCE,
    golden_of,
    make_steward,
    make_task,
    versions_field,
)

pytestmark = pytest.mark.django_db

LEFT = {"FName": "北京华盛科技有限公司", "FTel": "010-65521234", "FShortName": "华盛"}
RIGHT = {"FName": "北京华晟科技有限公司", "FTel": "010-65521234"}


@pytest.fixture
def task():
    return make_task(LEFT, RIGHT, score=0.83)


def merge_data(task, **extra):
    return {"versions": versions_field(task), "keep": "left", "reason": "", **extra}


def test_the_page_shows_both_records_their_differences_and_the_evidence(
    steward_client, task
):
    response = steward_client.get(reverse("task", args=[task.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<mark class="diff">盛</mark>' in html
    assert '<mark class="diff">晟</mark>' in html
    for golden in (golden_of(task.left), golden_of(task.right)):
        assert reverse("golden", args=[golden.golden_id]) in html
    evidence = response.context["evidence"]
    assert [row.comparison for row in evidence] == ["region", "name", "phone"]
    assert evidence[0].direction == "for" and evidence[-1].direction == "against"
    assert [row.comparison for row in response.context["no_evidence"]] == ["uscc"]
    assert "<details>" in html
    assert "同一城市" in html or "same city" in html


def test_the_legal_name_can_be_chosen_and_the_preview_follows(steward_client, task):
    page = steward_client.get(reverse("task", args=[task.pk]))
    choice = page.context["choices"]["legal_name"]
    [(other, sources)] = choice["others"]
    assert {choice["auto"], other} == {"北京华盛科技有限公司", "北京华晟科技有限公司"}
    assert len(sources) == 1
    preview = steward_client.get(
        reverse("task_preview", args=[task.pk]),
        {"keep": "left", "pick_legal_name": other},
        headers={"HX-Request": "true"},
    )
    html = preview.content.decode()
    assert html.lstrip().startswith('<section id="preview"')
    assert other in html
    assert [r.text for r in preview.context["preview_rows"]][0] == other


def test_a_merge_with_a_chosen_value_pins_it_and_moves_on(steward_client, task):
    next_task = make_task(score=0.7)
    response = steward_client.post(
        reverse("task_merge", args=[task.pk]),
        merge_data(task, pick_legal_name="北京华晟科技有限公司", reason="same phone"),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("task", args=[next_task.pk])
    golden = golden_of(task.left)
    assert golden.legal_name == "北京华晟科技有限公司"
    assert golden.lineage["legal_name"] == {
        "steward": "alice",
        "value": "北京华晟科技有限公司",
    }
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.MERGED
    decision = StewardDecision.objects.get()
    assert decision.reason.startswith("same phone")
    timeline = steward_client.get(reverse("golden", args=[golden.golden_id]))
    html = timeline.content.decode()
    assert "same phone" in html
    assert "alice" in html


def test_a_value_not_offered_is_refused(steward_client, task):
    response = steward_client.post(
        reverse("task_merge", args=[task.pk]),
        merge_data(task, pick_legal_name="随便写的名字"),
    )
    assert response.status_code == 400
    assert not StewardDecision.objects.exists()


def test_a_stale_merge_gets_409_and_writes_nothing(steward_client, task):
    data = merge_data(task)
    golden_record_recompute(golden=golden_of(task.right), reason="meanwhile")
    response = steward_client.post(reverse("task_merge", args=[task.pk]), data)
    assert response.status_code == 409
    assert "Nothing was written" in response.content.decode() or (
        "没有写入" in response.content.decode()
    )
    assert not StewardDecision.objects.exists()
    assert GoldenRecord.objects.filter(status="active").count() == 2
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.OPEN


def test_a_task_claimed_by_someone_else_gets_409(steward_client, task):
    review_task_claim(task=task, steward=make_steward("bob"))
    response = steward_client.post(
        reverse("task_merge", args=[task.pk]), merge_data(task)
    )
    assert response.status_code == 409
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.OPEN


def test_not_a_match_closes_the_task_and_is_remembered(steward_client, task):
    response = steward_client.post(
        reverse("task_not_a_match", args=[task.pk]),
        {"versions": versions_field(task), "reason": "different firms"},
    )
    assert response.status_code == 302
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.NOT_A_MATCH
    decision = StewardDecision.objects.get()
    assert decision.kind == "not_a_match"
    assert decision.reason.startswith("different firms")


def test_skip_and_defer(steward_client, task):
    deferred = make_task()
    assert steward_client.post(reverse("task_skip", args=[task.pk])).status_code == 302
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.SKIPPED
    refused = steward_client.post(reverse("task_defer", args=[deferred.pk]), {})
    assert refused.status_code == 400
    response = steward_client.post(
        reverse("task_defer", args=[deferred.pk]), {"comment": "ask sales first"}
    )
    assert response.status_code == 302
    row = ReviewTask.objects.get(pk=deferred.pk)
    assert (row.status, row.comment) == ("deferred", "ask sales first")
    golden = golden_of(deferred.left)
    html = steward_client.get(reverse("golden", args=[golden.golden_id])).content
    assert "ask sales first" in html.decode()


def test_a_deferred_task_can_be_reopened(steward_client, task):
    steward_client.post(reverse("task_defer", args=[task.pk]), {"comment": "wait"})
    response = steward_client.post(reverse("task_reopen", args=[task.pk]))
    assert response.status_code == 302
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.OPEN


def test_neighbours_follow_the_filtered_queue(steward_client):
    first, second, third = (make_task(score=s) for s in (0.9, 0.8, 0.7))
    response = steward_client.get(reverse("task", args=[second.pk]))
    assert (response.context["before"], response.context["after"]) == (
        first.pk,
        third.pk,
    )
    filtered = steward_client.get(reverse("task", args=[second.pk]), {"sort": "score"})
    assert (filtered.context["before"], filtered.context["after"]) == (
        third.pk,
        first.pk,
    )
    assert f'href="{reverse("task", args=[first.pk])}?sort=score"' in (
        filtered.content.decode()
    )


def test_a_pair_held_for_look_alike_letters_says_so_first(steward_client):
    evidence = [
        *EVIDENCE,
        {"comparison": "name", "level": "lookalike", "text": "...", "weight": 0.0},
    ]
    task = make_task(LEFT, {"FName": "Huаsheng Co., Ltd"}, evidence=evidence)
    response = steward_client.get(reverse("task", args=[task.pk]))
    first = response.context["evidence"][0]
    assert (first.comparison, first.held) == ("name", True)
    assert [row.comparison for row in response.context["no_evidence"]] == ["uscc"]
    html = response.content.decode()
    assert "held for review" in html or "须经复核" in html
    assert 'class="none held"' in html
