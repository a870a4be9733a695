"""Splitting a golden record from its page: choose groups, preview, confirm;
undo; roles, CSRF and stale versions."""

import pytest
from django.test import Client
from django.urls import reverse

from mdm.models import (
    CrossReference,
    GoldenRecord,
    OutboxEvent,
    SourceRecord,
    StewardDecision,
)
from mdm.services.golden_records import golden_record_create
from mdm.services.split import golden_record_split
from tests.mdm.ui.helpers import golden_of, make_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def golden():
    records = [
        make_record(FName="北京华盛科技有限公司", FTel="13800138000"),
        make_record("crm", Name="华盛科技", Phone="010-65521234"),
        make_record(FName="上海明远贸易有限公司", FTel="021-5555 0000"),
    ]
    return golden_record_create(members=records, method="auto_match")


def members(golden):
    return list(
        CrossReference.objects.filter(golden=golden)
        .order_by("source_record_id")
        .values_list("source_record_id", flat=True)
    )


def groups_data(golden, apart=(2,)):
    """The last member in group 2, the others in group 1 (by default)."""
    ids = members(golden)
    return {
        f"group_{pk}": "2" if index in apart else "1" for index, pk in enumerate(ids)
    }


def confirm_data(golden, **extra):
    golden.refresh_from_db()
    return {
        **groups_data(golden),
        "keep": "1",
        "version": golden.version,
        "reason": "两家公司",
        **extra,
    }


def golden_of_id(pk):
    return golden_of(SourceRecord.objects.get(pk=pk))


def db_state():
    return (
        list(CrossReference.objects.order_by("pk").values_list("pk", "golden")),
        list(GoldenRecord.objects.order_by("pk").values_list("pk", "version")),
        StewardDecision.objects.count(),
        OutboxEvent.objects.count(),
    )


def test_the_golden_page_offers_the_split_to_stewards_only(
    steward_client, viewer_client, golden
):
    url = reverse("golden", args=[golden.golden_id])
    split_url = reverse("golden_split", args=[golden.golden_id])
    assert split_url in steward_client.get(url).content.decode()
    assert split_url not in viewer_client.get(url).content.decode()


def test_the_split_page_has_a_group_choice_per_member(steward_client, golden):
    response = steward_client.get(reverse("golden_split", args=[golden.golden_id]))
    assert response.status_code == 200
    html = response.content.decode()
    for pk in members(golden):
        assert f'name="group_{pk}"' in html
    assert response.context["plan"] == []
    assert 'id="split-confirm"' not in html


def test_the_preview_shows_each_group_and_the_confirm_form(steward_client, golden):
    url = reverse("golden_split", args=[golden.golden_id])
    response = steward_client.get(url, groups_data(golden))
    plan = response.context["plan"]
    assert [group.keeps_id for group, _rows in plan] == [True, False]
    html = response.content.decode()
    assert "上海明远贸易有限公司" in html
    assert 'id="split-confirm"' in html
    assert db_state()[2:] == (0, 1)  # a preview writes nothing
    partial = steward_client.get(
        url, groups_data(golden), headers={"HX-Request": "true"}
    )
    assert "<header" not in partial.content.decode()
    assert 'id="split-preview"' in partial.content.decode()


def test_one_group_is_not_a_split(steward_client, golden):
    url = reverse("golden_split", args=[golden.golden_id])
    response = steward_client.get(url, groups_data(golden, apart=()))
    assert response.context["problem"]
    assert 'id="split-confirm"' not in response.content.decode()


def test_confirming_splits_and_the_timelines_link_both_ways(steward_client, golden):
    url = reverse("golden_split", args=[golden.golden_id])
    first, second, third = members(golden)
    response = steward_client.post(url, confirm_data(golden))
    assert response.status_code == 302
    assert response["Location"] == reverse("golden", args=[golden.golden_id])
    decision = StewardDecision.objects.get(kind="split")
    (new_id,) = decision.details["created"]
    assert members(golden) == [first, second]
    assert golden_of_id(third).golden_id == new_id
    page = steward_client.get(response["Location"])
    html = page.content.decode()
    assert new_id in html and "两家公司" in html
    event = next(e for e, _ in page.context["timeline"] if e.decision == decision)
    assert event.undoable
    assert reverse("golden_split_undo", args=[golden.golden_id, decision.pk]) in html
    new_page = steward_client.get(reverse("golden", args=[new_id])).content.decode()
    assert reverse("golden", args=[golden.golden_id]) in new_page
    assert reverse("golden_split_undo", args=[golden.golden_id, decision.pk]) not in (
        new_page
    )


def test_a_stale_version_gets_409_and_nothing_is_written(steward_client, golden):
    url = reverse("golden_split", args=[golden.golden_id])
    data = confirm_data(golden)
    steward_client.post(url, data)  # the first steward wins
    before = db_state()
    response = steward_client.post(url, data)
    assert response.status_code == 409
    assert response.context["conflict"]
    assert db_state() == before


def test_a_split_needs_a_reason(steward_client, golden):
    url = reverse("golden_split", args=[golden.golden_id])
    before = db_state()
    response = steward_client.post(url, confirm_data(golden, reason=""))
    assert response.status_code == 400
    assert db_state() == before


def test_a_viewer_reaches_neither_the_split_nor_its_undo(
    viewer_client, steward, golden
):
    golden.refresh_from_db()
    decision = golden_record_split(
        golden=golden,
        groups={pk: 1 if i else 2 for i, pk in enumerate(members(golden))},
        steward=steward,
        reason="x",
        expected_version=golden.version,
    )
    golden.refresh_from_db()
    before = db_state()
    urls = [
        reverse("golden_split", args=[golden.golden_id]),
        reverse("golden_split_undo", args=[golden.golden_id, decision.pk]),
    ]
    for url in urls:
        for method in (viewer_client.get, viewer_client.post):
            response = method(url, confirm_data(golden))
            assert response.status_code == 403, (method, url)
    assert db_state() == before
    html = viewer_client.get(reverse("golden", args=[golden.golden_id])).content
    assert urls[1] not in html.decode()


def test_anonymous_users_are_sent_to_log_in(client, golden):
    response = client.get(reverse("golden_split", args=[golden.golden_id]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_split_needs_a_csrf_token(steward, golden):
    client = Client(enforce_csrf_checks=True)
    client.force_login(steward)
    before = db_state()
    url = reverse("golden_split", args=[golden.golden_id])
    assert client.post(url, confirm_data(golden)).status_code == 403
    assert db_state() == before


def test_undo_from_the_page_and_its_stale_version(steward_client, golden):
    everyone = members(golden)
    steward_client.post(
        reverse("golden_split", args=[golden.golden_id]), confirm_data(golden)
    )
    decision = StewardDecision.objects.get(kind="split")
    url = reverse("golden_split_undo", args=[golden.golden_id, decision.pk])
    golden.refresh_from_db()
    stale = steward_client.post(url, {"version": golden.version - 1, "reason": "x"})
    assert stale.status_code == 409
    response = steward_client.post(url, {"version": golden.version, "reason": "错了"})
    assert response.status_code == 302
    assert {golden_of_id(pk).pk for pk in everyone} == {golden.pk}
    page = steward_client.get(reverse("golden", args=[golden.golden_id]))
    event = next(e for e, _ in page.context["timeline"] if e.decision == decision)
    assert event.undone_by is not None and not event.undoable
    undo = next(e for e, _ in page.context["timeline"] if e.decision == event.undone_by)
    assert undo.undoable  # the undo is a merge: it can be unmerged
    again = steward_client.post(url, {"version": golden.version + 1, "reason": "x"})
    assert again.status_code == 400


def test_an_undo_url_names_the_split_record(steward_client, steward, golden):
    golden.refresh_from_db()
    decision = golden_record_split(
        golden=golden,
        groups={pk: 1 if i else 2 for i, pk in enumerate(members(golden))},
        steward=steward,
        reason="x",
        expected_version=golden.version,
    )
    new_id = decision.details["created"][0]
    url = reverse("golden_split_undo", args=[new_id, decision.pk])
    assert steward_client.post(url, {"version": 1, "reason": "x"}).status_code == 404
