"""The golden record page: ID card, members, lineage, timeline, unmerge,
clearing a steward's choice, and raw payloads."""

import pytest
from django.urls import reverse

from mdm.models import GoldenRecord, StewardDecision
from mdm.services.golden_records import golden_record_create, golden_record_merge
from tests.mdm.ui.helpers import golden_of, make_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def merged(steward):
    erp = make_record(FName="北京华盛科技有限公司", FTel="010-65521234")
    crm = make_record("crm", Name="华盛科技有限公司", Phone="138 0013 8000")
    survivor = golden_record_create(members=[erp])
    absorbed = golden_record_create(members=[crm])
    golden_record_merge(
        survivor=survivor,
        absorbed=[absorbed],
        steward=steward,
        reason="same phone",
        overrides={"legal_name": "华盛科技有限公司"},
    )
    return GoldenRecord.objects.get(pk=survivor.pk), absorbed


def test_the_page_shows_card_members_lineage_and_history(steward_client, merged):
    survivor, absorbed = merged
    response = steward_client.get(reverse("golden", args=[survivor.golden_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "华盛科技有限公司" in html
    assert "+86 138 0013 8000" in html
    for xref in survivor.xrefs.select_related("source_record__source_system"):
        assert xref.source_record.source_id in html
        assert reverse("source_record", args=[xref.source_record_id]) in html
    card = {row.attribute: row for row in response.context["card"]}
    assert card["legal_name"].pinned_by == "alice"
    assert absorbed.golden_id in html  # "also known as" and the merge decision
    kinds = [event.kind for event, _changes in response.context["timeline"]]
    assert {"created", "changed", "linked", "decision"} <= set(kinds)
    merge_event = next(e for e, _ in response.context["timeline"] if e.decision)
    assert merge_event.undoable
    assert (
        reverse("golden_unmerge", args=[survivor.golden_id, merge_event.decision.pk])
        in html
    )


def test_a_merged_away_id_redirects_to_its_survivor(steward_client, merged):
    survivor, absorbed = merged
    response = steward_client.get(reverse("golden", args=[absorbed.golden_id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("golden", args=[survivor.golden_id])


def test_an_unknown_or_mistyped_id_is_not_found(steward_client, merged):
    survivor, _ = merged
    typo = survivor.golden_id[:-1] + str((int(survivor.golden_id[-1]) + 1) % 10)
    assert steward_client.get(reverse("golden", args=[typo])).status_code == 404
    assert steward_client.get(reverse("golden", args=["GR9"])).status_code == 404


def test_unmerge_from_the_page_brings_the_absorbed_record_back(steward_client, merged):
    survivor, absorbed = merged
    decision = StewardDecision.objects.get(kind="merge")
    url = reverse("golden_unmerge", args=[survivor.golden_id, decision.pk])
    stale = steward_client.post(url, {"version": survivor.version - 1, "reason": "x"})
    assert stale.status_code == 409
    assert GoldenRecord.objects.get(pk=absorbed.pk).status == "merged"
    response = steward_client.post(
        url, {"version": survivor.version, "reason": "two firms"}
    )
    assert response.status_code == 302
    assert GoldenRecord.objects.get(pk=absorbed.pk).status == "active"
    page = steward_client.get(reverse("golden", args=[survivor.golden_id]))
    html = page.content.decode()
    assert "two firms" in html
    merge_event = next(
        e
        for e, _ in page.context["timeline"]
        if e.decision and e.decision.kind == "merge"
    )
    assert merge_event.undone_by is not None and not merge_event.undoable


def test_unmerge_needs_a_reason(steward_client, merged):
    survivor, absorbed = merged
    decision = StewardDecision.objects.get(kind="merge")
    url = reverse("golden_unmerge", args=[survivor.golden_id, decision.pk])
    steward_client.post(url, {"version": survivor.version, "reason": ""})
    assert GoldenRecord.objects.get(pk=absorbed.pk).status == "merged"


def test_clearing_a_chosen_value_lets_the_sources_decide(steward_client, merged):
    survivor, _ = merged
    response = steward_client.post(
        reverse("golden_unpin", args=[survivor.golden_id]),
        {"version": survivor.version, "attribute": "legal_name"},
    )
    assert response.status_code == 302
    survivor.refresh_from_db()
    assert survivor.legal_name == "北京华盛科技有限公司"
    assert "steward" not in survivor.lineage["legal_name"]


def test_the_raw_payload_is_pretty_printed(steward_client):
    record = make_record(FName="北京华盛科技有限公司", FTel="13800138000")
    golden_record_create(members=[record])
    response = steward_client.get(reverse("source_record", args=[record.pk]))
    html = response.content.decode()
    assert '"FTel": "13800138000"' in response.context["payload"]
    assert "&quot;FTel&quot;: &quot;13800138000&quot;" in html
    assert reverse("golden", args=[golden_of(record).golden_id]) in html
    partial = steward_client.get(
        reverse("source_record", args=[record.pk]), headers={"HX-Request": "true"}
    )
    assert "<header" not in partial.content.decode()
    assert '<pre class="payload">' in partial.content.decode()
