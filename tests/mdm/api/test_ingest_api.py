from dataclasses import replace

import pytest
from django.utils import timezone

from mdm.models import CrossReference, MatchRun, ReviewTask, SourceRecord
from mdm.services.golden_records import golden_record_create
from mdm.services.match_models import match_config_default
from tests.builders import make_source_record
from tests.mdm.api.conftest import client_with_token

pytestmark = pytest.mark.django_db

USCC = "91110108MA01KPGK0L"


def put(api, source_id, payload, system="erp"):
    return api.put(
        f"/api/v1/systems/{system}/records/{source_id}", payload, format="json"
    )


def kingdee(number, name="北京华盛科技有限公司", **extra):
    return {"FNumber": number, "FName": name, **extra}


def test_a_new_record_gets_a_new_golden_id(erp_api):
    response = put(erp_api, "CUST-1", kingdee("CUST-1", FTaxRegisterCode=USCC))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["outcome"] == "created"
    assert body["golden_id"].startswith("GR")
    assert body["match"]["decision"] == "new"


def test_an_unchanged_resend_is_a_no_op(erp_api):
    first = put(erp_api, "CUST-1", kingdee("CUST-1")).json()
    again = put(erp_api, "CUST-1", kingdee("CUST-1"))
    assert again.status_code == 200
    assert again.json()["outcome"] == "unchanged"
    assert again.json()["golden_id"] == first["golden_id"]
    assert SourceRecord.objects.get().history.count() == 1


def test_the_same_company_from_the_crm_joins_the_erp_golden_record(erp_api, crm_api):
    erp = put(
        erp_api,
        "CUST-1",
        kingdee("CUST-1", FTaxRegisterCode=USCC, FTel="010-65521234"),
    ).json()
    crm = crm_api.put(
        "/api/v1/systems/crm/records/001A",
        {
            "Id": "001A",
            "Name": "华盛科技(北京)有限公司",
            "Tax_ID__c": USCC,
            "Phone": "+86 10 6552 1234",
        },
        format="json",
    ).json()
    assert crm["match"]["decision"] == "auto_merge", crm["match"]
    assert crm["golden_id"] == erp["golden_id"]
    top = crm["match"]["candidates"][0]
    assert top["golden_id"] == erp["golden_id"]
    assert any("USCC" in e["text"] for e in top["explanation"])


def test_two_different_valid_usccs_never_auto_merge(erp_api, crm_api):
    put(
        erp_api, "CUST-1", kingdee("CUST-1", FTaxRegisterCode=USCC, FTel="010-65521234")
    )
    other = crm_api.put(
        "/api/v1/systems/crm/records/001B",
        {
            "Id": "001B",
            "Name": "北京华盛科技有限公司",
            "Tax_ID__c": "91310115MA1H7GXT07",
            "Phone": "010-65521234",
        },
        format="json",
    ).json()
    assert other["match"]["decision"] != "auto_merge"
    assert CrossReference.objects.values("golden").distinct().count() == 2


def in_force_with_thresholds(auto_merge: float, review: float) -> None:
    config = replace(
        match_config_default(), auto_merge_threshold=auto_merge, review_threshold=review
    )
    MatchRun.objects.create(
        status=MatchRun.Status.DONE, config=config.to_dict(), finished_at=timezone.now()
    )


def test_a_score_in_the_review_band_gives_a_new_golden_record_and_a_task(
    erp_api, crm_api
):
    in_force_with_thresholds(auto_merge=0.999, review=0.001)
    erp = put(erp_api, "CUST-1", kingdee("CUST-1", FTel="010-65521234")).json()
    body = crm_api.put(
        "/api/v1/systems/crm/records/001C",
        {"Id": "001C", "Name": "华盛科技"},
        format="json",
    ).json()
    assert body["match"]["decision"] == "review"
    assert body["golden_id"] != erp["golden_id"]
    task = ReviewTask.objects.get(status="open")
    assert {task.left.source_id, task.right.source_id} == {"CUST-1", "001C"}
    assert task.score == pytest.approx(body["match"]["score"], abs=1e-4)
    assert task.evidence == body["match"]["candidates"][0]["explanation"]


def test_a_score_below_the_review_band_is_a_new_customer(erp_api, crm_api):
    in_force_with_thresholds(auto_merge=0.9999, review=0.9998)
    put(erp_api, "CUST-1", kingdee("CUST-1", FTel="010-65521234"))
    body = crm_api.put(
        "/api/v1/systems/crm/records/001C",
        {"Id": "001C", "Name": "华盛科技"},
        format="json",
    ).json()
    assert body["match"]["decision"] == "new"
    assert ReviewTask.objects.count() == 0


def test_a_delete_marks_the_record_inactive(erp_api):
    put(erp_api, "CUST-1", kingdee("CUST-1"))
    response = erp_api.delete("/api/v1/systems/erp/records/CUST-1")
    assert response.status_code == 200
    assert SourceRecord.objects.get().is_active is False


def test_a_client_may_not_write_another_systems_records(crm_api):
    response = put(crm_api, "CUST-1", kingdee("CUST-1"), system="erp")
    assert response.status_code == 403
    assert SourceRecord.objects.count() == 0


def test_a_read_only_token_may_not_write(db):
    api = client_with_token("reader", None, ["read"])
    assert put(api, "CUST-1", kingdee("CUST-1")).status_code == 403


def test_no_token_or_a_bad_token_is_refused(client):
    from rest_framework.test import APIClient

    anonymous = APIClient()
    assert put(anonymous, "CUST-1", kingdee("CUST-1")).status_code in {401, 403}
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer gr_not-a-real-token")
    assert put(anonymous, "CUST-1", kingdee("CUST-1")).status_code == 401


def test_a_body_that_is_not_an_object_is_a_400(erp_api):
    response = put(erp_api, "CUST-1", [1, 2, 3])
    assert response.status_code == 400
    assert "JSON object" in response.json()["detail"]


def test_malformed_json_is_a_400_not_a_500(erp_api):
    response = erp_api.generic(
        "PUT",
        "/api/v1/systems/erp/records/CUST-1",
        "{not json",
        content_type="application/json",
    )
    assert response.status_code == 400


def test_an_unknown_system_is_a_404(db):
    api = client_with_token("admin", None, ["admin"])
    assert put(api, "X-1", {"a": 1}, system="nope").status_code == 404


def test_a_batch_with_one_broken_record_keeps_the_others(erp_api):
    items = [
        {"source_id": "CUST-1", "payload": kingdee("CUST-1")},
        {"source_id": "CUST-2", "payload": "not an object"},
        {
            "source_id": "CUST-3",
            "payload": kingdee("CUST-3", name="上海明远贸易有限公司"),
        },
    ]
    response = erp_api.post(
        "/api/v1/systems/erp/records/batch", {"records": items}, format="json"
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r.get("outcome") for r in results] == ["created", None, "created"]
    assert results[1]["source_id"] == "CUST-2"
    assert SourceRecord.objects.count() == 2


def test_a_batch_over_1000_records_is_refused(erp_api):
    items = [{"source_id": f"C{i}", "payload": {"FName": "x"}} for i in range(1001)]
    response = erp_api.post(
        "/api/v1/systems/erp/records/batch", {"records": items}, format="json"
    )
    assert response.status_code == 400
    assert SourceRecord.objects.count() == 0


def test_a_record_never_joins_a_golden_record_holding_another_valid_uscc(crm_api):
    # Golden record G = an ERP record with USCC A + a legacy record with no
    # USCC. A CRM record with USCC B agrees with the legacy member on name and
    # phone (a strong pair), but joining G would put A and B in one cluster.
    erp = make_source_record(
        "erp", "CUST-1", FName="北京华盛科技有限公司", FTaxRegisterCode=USCC
    )
    legacy = make_source_record(
        "legacy",
        "名单#2",
        客户名称="北京华盛科技有限公司",
        联系电话="010-65521234",
        邮箱="info@huasheng.cn",
    )
    golden = golden_record_create(members=[erp, legacy])
    body = crm_api.put(
        "/api/v1/systems/crm/records/001D",
        {
            "Id": "001D",
            "Name": "北京华盛科技有限公司",
            "Tax_ID__c": "91310115MA1H7GXT07",
            "Phone": "010-65521234",
            "Email__c": "info@huasheng.cn",
        },
        format="json",
    ).json()
    top = body["match"]["candidates"][0]
    assert (top["golden_id"], top["source"]) == (golden.golden_id, "legacy:名单#2")
    assert body["match"]["decision"] == "review"
    assert body["golden_id"] != golden.golden_id
    assert ReviewTask.objects.filter(status="open").count() == 1
