"""RELIABILITY W3: what belongs to one API client is out of another's reach.

The objects a client owns are its source system's records (reads of golden
records and source keys are shared by design: that is the lookup service),
its tokens and its idempotency keys. Another client's 100 record ids get
403 on every write, its tokens cannot be revoked or read, and the same
Idempotency-Key sent by two clients runs twice, never replaying the other
client's answer."""

import pytest

from mdm.models import ApiToken, SourceRecord
from tests.builders import make_source_record

pytestmark = pytest.mark.django_db

IDS = [f"SF-{n:03d}" for n in range(100)]


@pytest.fixture
def crm_records():
    return [
        make_source_record("crm", source_id, Id=source_id, Name=f"上海明远{n}有限公司")
        for n, source_id in enumerate(IDS)
    ]


def _snapshot():
    return list(
        SourceRecord.objects.order_by("pk").values_list(
            "source_id", "raw_payload", "is_active", "deleted_in_source_at"
        )
    )


def test_another_systems_100_records_refuse_every_write(erp_api, crm_records):
    before = _snapshot()
    for source_id in IDS:
        path = f"/api/v1/systems/crm/records/{source_id}"
        put = erp_api.put(path, {"Id": source_id, "Name": "x"}, format="json")
        assert put.status_code == 403, put.content
        assert erp_api.delete(path).status_code == 403
    items = [{"source_id": s, "payload": {"Id": s, "Name": "x"}} for s in IDS]
    batch = erp_api.post(
        "/api/v1/systems/crm/records/batch", {"records": items}, format="json"
    )
    assert batch.status_code == 403
    assert _snapshot() == before


def test_a_client_sees_and_rotates_only_its_own_token(erp_api, crm_api):
    mine = erp_api.get("/api/v1/token").json()
    theirs = crm_api.get("/api/v1/token").json()
    assert mine["client"] != theirs["client"]
    assert erp_api.get("/api/v1/tokens").status_code == 403
    revoke = erp_api.post(f"/api/v1/tokens/{crm_api.token.pk}/revoke")
    assert revoke.status_code == 403
    assert erp_api.post("/api/v1/token/rotate", {}, format="json").status_code == 200
    crm_token = ApiToken.objects.get(pk=crm_api.token.pk)
    assert crm_token.revoked_at is None and crm_token.expires_at is None
    assert crm_api.get("/api/v1/token").status_code == 200


def test_one_idempotency_key_sent_by_two_clients_runs_for_each(erp_api, crm_api):
    for n in range(10):
        key = f"shared-key-{n}"
        erp = erp_api.put(
            f"/api/v1/systems/erp/records/C-{n}",
            {"FNumber": f"C-{n}", "FName": f"北京华盛{n}科技有限公司"},
            format="json",
            headers={"Idempotency-Key": key},
        )
        crm = crm_api.put(
            f"/api/v1/systems/crm/records/C-{n}",
            {"Id": f"C-{n}", "Name": f"上海明远{n}贸易有限公司"},
            format="json",
            headers={"Idempotency-Key": key},
        )
        assert (erp.status_code, crm.status_code) == (201, 201)
        assert "Idempotent-Replayed" not in crm.headers
        assert crm.json()["source_system"] == "crm"
    assert SourceRecord.objects.filter(source_system__code="crm").count() == 10
