"""Search by golden ID, source ID, USCC, phone and fuzzy name."""

import pytest
from django.urls import reverse

from mdm.services.golden_records import golden_record_create, golden_record_merge
from tests.mdm.ui.helpers import golden_of, make_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers():
    records = [
        make_record(
            source_id="CUST-000549",
            FName="杭州维海集团有限公司",
            FTaxRegisterCode="91330100MAE4MPHE7T",
            FTel="+86 138 0013 8000",
        ),
        make_record(FName="上海宏达贸易有限公司", FTel="021-55667788"),
        make_record("crm", Name="Shenzhen Bright Star Technology Co., Ltd."),
    ]
    for record in records:
        golden_record_create(members=[record])
    return records


def found(client, query: str):
    response = client.get(reverse("search"), {"q": query})
    assert response.status_code == 200
    return response.context["result"].kind, [
        hit.golden.golden_id for hit in response.context["result"].hits
    ]


def test_by_golden_id_with_its_check_digit(steward_client, customers):
    golden_id = golden_of(customers[0]).golden_id
    assert found(steward_client, golden_id.lower()) == ("golden_id", [golden_id])
    typo = golden_id[:-1] + str((int(golden_id[-1]) + 1) % 10)
    assert found(steward_client, typo) == ("typo", [])


def test_a_merged_away_golden_id_finds_its_survivor(steward_client, customers, steward):
    a, b = golden_of(customers[0]), golden_of(customers[1])
    golden_record_merge(survivor=a, absorbed=[b], steward=steward, reason="x")
    assert found(steward_client, b.golden_id) == ("golden_id", [a.golden_id])


def test_by_source_id_plain_or_with_its_system(steward_client, customers):
    golden_id = golden_of(customers[0]).golden_id
    assert found(steward_client, "CUST-000549") == ("source_id", [golden_id])
    assert found(steward_client, "erp:cust-000549") == ("source_id", [golden_id])


def test_by_uscc(steward_client, customers):
    golden_id = golden_of(customers[0]).golden_id
    assert found(steward_client, "91330100 MAE4MPHE7T") == ("uscc", [golden_id])


def test_by_phone_in_any_layout(steward_client, customers):
    golden_id = golden_of(customers[0]).golden_id
    assert found(steward_client, "138-0013-8000") == ("phone", [golden_id])
    assert found(steward_client, "(021) 5566 7788") == (
        "phone",
        [golden_of(customers[1]).golden_id],
    )
    assert found(steward_client, "13800138001") == ("phone", [])


def test_by_chinese_name_even_with_a_typo(steward_client, customers):
    golden_id = golden_of(customers[0]).golden_id
    assert found(steward_client, "维海")[1][0] == golden_id
    assert found(steward_client, "杭州维海集团")[1][0] == golden_id
    assert found(steward_client, "维每集团")[1][:1] == [golden_id]


def test_by_pinyin_or_english(steward_client, customers):
    assert found(steward_client, "weihai")[1][0] == golden_of(customers[0]).golden_id
    assert found(steward_client, "hongda")[1][0] == golden_of(customers[1]).golden_id
    assert found(steward_client, "bright star")[1][0] == (
        golden_of(customers[2]).golden_id
    )


def test_a_viewer_sees_search_results_masked(viewer_client, customers):
    html = viewer_client.get(reverse("search"), {"q": "13800138000"}).content.decode()
    assert "138****8000" in html
    assert "8613800138000" not in html
    assert "9133**********7T" in html


def test_live_search_returns_only_the_results(steward_client, customers):
    response = steward_client.get(
        reverse("search"), {"q": "weihai"}, headers={"HX-Request": "true"}
    )
    assert response.content.decode().lstrip().startswith('<div id="search-results">')
