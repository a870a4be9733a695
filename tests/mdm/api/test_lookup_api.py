import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mdm.golden_ids import golden_id_format
from mdm.models import GoldenRecord, SourceRecord
from mdm.services.golden_records import golden_record_create, golden_record_merge
from tests.builders import make_golden, make_source_record, make_user

pytestmark = pytest.mark.django_db

USCC = "91110108MA01KPGK0L"


def test_it_finds_a_golden_record_by_golden_id(read_api):
    golden = make_golden(FTaxRegisterCode=USCC)
    response = read_api.get(f"/api/v1/golden-records/{golden.golden_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["golden"]["golden_id"] == golden.golden_id
    assert body["golden"]["legal_name"] == "北京华盛科技有限公司"
    assert body["redirect"] is None


def test_a_merged_away_id_answers_with_the_survivor_and_the_chain(read_api):
    first, second, third = (make_golden(name=f"公司{i}") for i in "甲乙丙")
    steward = make_user()
    golden_record_merge(survivor=second, absorbed=[first], steward=steward, reason="x")
    golden_record_merge(survivor=third, absorbed=[second], steward=steward, reason="y")
    response = read_api.get(f"/api/v1/golden-records/{first.golden_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["golden"]["golden_id"] == third.golden_id
    assert body["redirect"] == {
        "requested_id": first.golden_id,
        "chain": [first.golden_id, second.golden_id, third.golden_id],
    }


def test_a_golden_id_with_a_wrong_check_digit_is_a_400(read_api):
    golden = make_golden()
    typo = golden.golden_id[:-1] + str((int(golden.golden_id[-1]) + 1) % 10)
    response = read_api.get(f"/api/v1/golden-records/{typo}")
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidKey"
    assert "check digit" in response.json()["detail"]


def test_an_unknown_golden_id_is_a_404(read_api):
    response = read_api.get(f"/api/v1/golden-records/{golden_id_format(999_999)}")
    assert response.status_code == 404
    assert response.json() == {
        "error": "NotFound",
        "detail": "No golden record has this ID.",
    }


def test_it_finds_a_golden_record_by_source_key(read_api):
    golden = make_golden()
    record = SourceRecord.objects.get(xref__golden=golden)
    response = read_api.get(f"/api/v1/golden-records/by-source/erp/{record.source_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["golden"]["golden_id"] == golden.golden_id
    assert body["source"]["source_id"] == record.source_id
    assert body["source"]["linked_by"] == "new"
    assert read_api.get("/api/v1/golden-records/by-source/erp/NOPE").status_code == 404


def test_a_source_id_with_slashes_is_found(read_api):
    from mdm.services.golden_records import golden_record_create

    record = make_source_record("erp", source_id="A/B/7", FName="上海某某有限公司")
    golden = golden_record_create(members=[record])
    response = read_api.get("/api/v1/golden-records/by-source/erp/A/B/7")
    assert response.json()["golden"]["golden_id"] == golden.golden_id


def test_it_finds_golden_records_by_uscc(pii_api):
    golden = make_golden(FTaxRegisterCode=USCC)
    response = pii_api.get("/api/v1/golden-records/by-uscc/91110108ma01kpgk0l")
    assert response.status_code == 200
    assert response.json()["uscc"] == USCC
    assert [g["golden_id"] for g in response.json()["results"]] == [golden.golden_id]
    assert pii_api.get("/api/v1/golden-records/by-uscc/12").status_code == 400


def test_a_batch_answers_mixed_keys_in_order(pii_api, django_assert_max_num_queries):
    a = make_golden(name="甲公司", FTaxRegisterCode=USCC)
    b = make_golden(name="乙公司")
    merged = make_golden(name="丙公司")
    golden_record_merge(survivor=b, absorbed=[merged], steward=make_user(), reason="x")
    b_source = SourceRecord.objects.filter(xref__golden=b).order_by("pk").first()
    keys = [
        {"golden_id": a.golden_id},
        {"source_system": "erp", "source_id": b_source.source_id},
        {"uscc": USCC},
        {"golden_id": merged.golden_id},
        {"golden_id": "GR12"},
        {"source_system": "crm", "source_id": "missing"},
    ]
    with django_assert_max_num_queries(14):
        response = pii_api.post(
            "/api/v1/golden-records/lookup", {"keys": keys}, format="json"
        )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["found"] for r in results] == [True, True, True, True, False, False]
    assert results[0]["golden"]["golden_id"] == a.golden_id
    assert results[1]["golden"]["golden_id"] == b.golden_id
    assert results[2]["golden"]["golden_id"] == a.golden_id
    assert results[3]["golden"]["golden_id"] == b.golden_id
    assert results[3]["redirect"]["chain"] == [merged.golden_id, b.golden_id]
    assert results[4]["error"]  # a check-digit error, not a miss
    assert results[5] == {
        "key": keys[5],
        "found": False,
        "golden": None,
        "redirect": None,
        "others": [],
        "error": None,
    }


def test_a_batch_of_a_thousand_keys_takes_a_handful_of_queries(
    read_api, django_assert_max_num_queries
):
    golden = make_golden()
    keys = [{"golden_id": golden.golden_id}] * 500 + [
        {"source_system": "erp", "source_id": f"K{i}"} for i in range(500)
    ]
    with django_assert_max_num_queries(12):
        response = read_api.post(
            "/api/v1/golden-records/lookup", {"keys": keys}, format="json"
        )
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1000


def test_batch_source_keys_are_read_by_the_system_and_source_id_index(read_api):
    # Filtering on the joined system's code, ORed over systems, made
    # PostgreSQL scan every source record (600 ms a batch at 1M records).
    erp, crm = make_source_record("erp", FNumber="E-1"), make_source_record("crm")
    golden_record_create(members=[erp])
    golden_record_create(members=[crm])
    keys = [
        {"source_system": "erp", "source_id": erp.source_id},
        {"source_system": "crm", "source_id": crm.source_id},
        {"source_system": "nowhere", "source_id": erp.source_id},
    ]
    with CaptureQueriesContext(connection) as queries:
        response = read_api.post(
            "/api/v1/golden-records/lookup", {"keys": keys}, format="json"
        )
    assert [r["found"] for r in response.json()["results"]] == [True, True, False]
    xref_query = next(
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "mdm_crossreference"' in q["sql"]
    )
    where = xref_query.split(" WHERE ", 1)[1]
    assert '"mdm_sourcerecord"."source_system_id"' in where
    assert '"mdm_sourcesystem"."code"' not in where


@pytest.mark.parametrize(
    "body",
    [
        {"keys": [{"golden_id": "GR0000000013"}] * 1001},
        {"keys": []},
        {"keys": [{}]},
        {"keys": [{"golden_id": "GR0000000013", "uscc": USCC}]},
        {"keys": [{"source_system": "erp"}]},
        {"keys": [{"golden_id": "GR0000000013", "colour": "red"}]},
        {"keys": "GR0000000013"},
        {"keys": [{"golden_id": 13}], "extra": 1},
    ],
)
def test_a_bad_batch_is_a_400_with_a_message(read_api, body):
    response = read_api.post("/api/v1/golden-records/lookup", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "ValidationError"
    assert response.json()["detail"]


def test_members_and_history_are_served(read_api):
    first, second = make_golden(name="甲公司"), make_golden(name="乙公司")
    golden_record_merge(
        survivor=first, absorbed=[second], steward=make_user(), reason="dup"
    )
    members = read_api.get(f"/api/v1/golden-records/{second.golden_id}/members")
    assert members.status_code == 200
    body = members.json()
    assert body["golden"]["golden_id"] == first.golden_id
    assert len(body["members"]) == 2
    assert {m["source_system"] for m in body["members"]} == {"erp"}
    history = read_api.get(f"/api/v1/golden-records/{first.golden_id}/history?limit=2")
    assert history.status_code == 200
    assert history.json()["count"] > 2
    assert len(history.json()["results"]) == 2
    assert (
        read_api.get(
            f"/api/v1/golden-records/{first.golden_id}/history?limit=0"
        ).status_code
        == 400
    )


def test_a_read_answers_304_while_the_record_is_unchanged(read_api):
    golden = make_golden()
    url = f"/api/v1/golden-records/{golden.golden_id}"
    first = read_api.get(url)
    etag = first["ETag"]
    assert etag.startswith('"')
    again = read_api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag
    assert again.content == b""
    GoldenRecord.objects.filter(pk=golden.pk).update(legal_name="改名有限公司")
    changed = read_api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_phones_emails_and_ids_are_masked_without_the_pii_scope(read_api, pii_api):
    golden = make_golden(
        FTaxRegisterCode=USCC, FTel="13800138000", FEMail="zhaobing@126.com"
    )
    url = f"/api/v1/golden-records/{golden.golden_id}"
    masked = read_api.get(url).json()["golden"]
    clear = pii_api.get(url).json()["golden"]
    assert clear["uscc"] == USCC and masked["uscc"] == "9111**********0L"
    assert clear["phones"] and masked["phones"] == ["+86 138****8000"]
    assert masked["emails"] == ["z***@126.com"]
    assert "13800138000" not in read_api.get(url).content.decode()
    assert read_api.get(url)["ETag"] != pii_api.get(url)["ETag"]
