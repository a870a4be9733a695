"""Survivorship where people see it: the rule in the golden record's
lineage (Chinese and English) and the policy in the admin."""

import pytest
from django.test import Client
from django.urls import reverse

from mdm.models import SurvivorshipPolicy
from mdm.services.golden_records import golden_record_create
from tests.builders import make_source_record, make_user
from tests.mdm.ui.helpers import make_steward

pytestmark = pytest.mark.django_db


@pytest.fixture
def steward_client():
    client = Client()
    client.force_login(make_steward())
    return client


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(make_user("root", is_superuser=True, is_staff=True))
    return client


@pytest.fixture
def golden():
    erp = make_source_record("erp", FName="北京华盛科技有限公司", FTel="010-65521234")
    crm = make_source_record("crm", Name="华盛科技(北京)有限公司")
    return golden_record_create(members=[erp, crm])


def test_the_golden_page_shows_the_deciding_rule_in_chinese(steward_client, golden):
    response = steward_client.get(reverse("golden", args=[golden.golden_id]))
    card = {row.attribute: row for row in response.context["card"]}
    assert card["legal_name"].rule == "来源可信度"
    assert card["phones"].rule == "合并所有来源"
    html = response.content.decode()
    assert "规则：来源可信度" in html
    assert "规则：合并所有来源" in html


def test_the_golden_page_shows_the_deciding_rule_in_english(steward_client, golden):
    steward_client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = steward_client.get(reverse("golden", args=[golden.golden_id])).content
    assert "rule: source trust" in html.decode()
    assert "rule: union of all sources" in html.decode()


def test_lineage_written_before_rules_were_recorded_shows_no_rule(
    steward_client, golden
):
    for origin in [golden.lineage["legal_name"], *golden.lineage["phones"]]:
        del origin["rule"]
    golden.save()
    response = steward_client.get(reverse("golden", args=[golden.golden_id]))
    assert all(row.rule == "" for row in response.context["card"])


def test_the_admin_refuses_an_unknown_rule_with_a_clear_message(admin_client):
    row = SurvivorshipPolicy.objects.get(attribute="uscc")
    url = reverse("admin:mdm_survivorshippolicy_change", args=[row.pk])
    response = admin_client.post(
        url,
        {"rules": '["valid_first", "newest"]', "note": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Unknown rule “newest”" in response.content.decode()
    row.refresh_from_db()
    assert row.rules == ["valid_first", "most_frequent", "source_trust", "most_recent"]


def test_the_admin_saves_a_policy_with_history(admin_client):
    row = SurvivorshipPolicy.objects.get(attribute="uscc")
    url = reverse("admin:mdm_survivorshippolicy_change", args=[row.pk])
    response = admin_client.post(
        url, {"rules": '["most_frequent", "valid_first"]', "note": "ERP is sloppy"}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.rules == ["most_frequent", "valid_first"]
    assert row.history.count() == 2
    assert row.history.first().history_user.username == "root"


def test_the_admin_refuses_a_policy_for_an_unknown_attribute(admin_client):
    response = admin_client.post(
        reverse("admin:mdm_survivorshippolicy_add"),
        {"attribute": "tax_id", "rules": '["valid_first"]', "note": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Unknown attribute “tax_id”" in response.content.decode()
    assert not SurvivorshipPolicy.objects.filter(attribute="tax_id").exists()
