"""The sync-conflict pages: stewards decide, viewers read masked values."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mdm.models import Delivery, RemoteLink, SyncConflict
from tests.builders import make_golden
from tests.mdm.ui.delivery_builders import make_delivery, make_file_target
from tests.mdm.ui.helpers import make_steward, make_viewer

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"


@pytest.fixture
def conflict():
    golden = make_golden()
    target = make_file_target("erp-pages")
    delivery = make_delivery(target, state=Delivery.State.CONFLICT)
    RemoteLink.objects.create(
        target=target,
        golden_id=golden.golden_id,
        remote_id="100001",
        pushed={"FTEL": "+8613900139000", "FName": "华盛"},
    )
    return SyncConflict.objects.create(
        target=target,
        golden_id=golden.golden_id,
        kind=SyncConflict.Kind.CONFLICT,
        delivery=delivery,
        remote_id="100001",
        fields={"FTEL": {"base": "+8613900139000", "ours": PHONE, "theirs": "010-1"}},
    )


def test_a_viewer_reads_masked_values_and_gets_no_actions(client, conflict):
    client.force_login(make_viewer())
    page = client.get(reverse("sync_conflict", args=[conflict.pk])).content.decode()
    assert "FTEL" in page and PHONE not in page
    assert reverse("sync_conflict_decide", args=[conflict.pk]) not in page
    listing = client.get(reverse("sync_conflicts")).content.decode()
    assert f"sync-conflict-{conflict.pk}" in listing


def test_a_steward_pushes_ours_and_the_delivery_is_due_again(client, conflict):
    client.force_login(make_steward())
    page = client.get(reverse("sync_conflict", args=[conflict.pk])).content.decode()
    assert PHONE in page and 'name="field:FTEL"' in page
    response = client.post(
        reverse("sync_conflict_decide", args=[conflict.pk]), {"field:FTEL": "ours"}
    )
    assert response.status_code == 302
    conflict.refresh_from_db()
    assert (conflict.state, conflict.decisions) == ("resolved", {"FTEL": "ours"})
    assert conflict.resolved_by.username == "alice"
    assert conflict.delivery.__class__.objects.get(pk=conflict.delivery_id).state == (
        "pending"
    )
    # The base now holds their value: only our side looks changed.
    assert RemoteLink.objects.get().pushed["FTEL"] == "010-1"
    page = client.get(response["Location"]).content.decode()
    assert "已由 alice" in page and "已逐字段决定" in page  # zh-Hans by default
    assert 'name="field:FTEL"' not in page


def test_a_missing_choice_is_refused_and_a_resolved_conflict_stays_closed(
    client, conflict
):
    client.force_login(make_steward())
    url = reverse("sync_conflict_decide", args=[conflict.pk])
    assert client.post(url, {}).status_code == 400
    assert client.post(url, {"all": "theirs"}).status_code == 302
    assert client.post(url, {"all": "ours"}).status_code == 409
    recreate = reverse("sync_conflict_recreate", args=[conflict.pk])
    assert client.post(recreate).status_code == 409


def test_the_pages_are_translated(client, conflict):
    client.force_login(make_steward())
    page = client.get(
        reverse("sync_conflict", args=[conflict.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "全部字段推送我方值" in page and "对方（目标系统）" in page
