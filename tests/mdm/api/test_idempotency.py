"""RELIABILITY D7: `Idempotency-Key` on the API's writes. A retry with the
same key replays the first response (same status, same bytes) and writes
nothing; the same key with another body is a 422; 100 concurrent requests
with one key create one record and get 100 identical responses."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from mdm.api import idempotency
from mdm.models import IdempotencyKey, SourceRecord
from tests.mdm.api.conftest import client_with_token

RECORD = "/api/v1/systems/erp/records/CUST-1"
BATCH = "/api/v1/systems/erp/records/batch"


def kingdee(number="CUST-1", name="北京华盛科技有限公司"):
    return {"FNumber": number, "FName": name}


def put(api, payload, key=None, path=RECORD):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.put(path, payload, format="json", headers=headers)


@pytest.fixture
def fast_throttle(settings):
    config = dict(settings.REST_FRAMEWORK)
    config["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(
        config["DEFAULT_THROTTLE_RATES"], "100000/s"
    )
    settings.REST_FRAMEWORK = config


@pytest.mark.django_db
class TestSequential:
    def test_a_retry_replays_the_first_response_and_writes_nothing(self, erp_api):
        first = put(erp_api, kingdee(), key="k-1")
        assert first.status_code == 201, first.json()
        again = put(erp_api, kingdee(), key="k-1")
        assert again.status_code == 201
        assert again.content == first.content
        assert again.json()["outcome"] == "created"  # not "unchanged": a replay
        assert again["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first
        assert SourceRecord.objects.get().history.count() == 1

    def test_the_same_body_with_other_key_order_or_spacing_is_the_same(self, erp_api):
        first = put(erp_api, {"FNumber": "CUST-1", "FName": "华盛"}, key="k-1")
        again = erp_api.put(
            RECORD,
            '{ "FName": "华盛",   "FNumber": "CUST-1" }',
            content_type="application/json",
            headers={"Idempotency-Key": "k-1"},
        )
        assert again.status_code == first.status_code == 201
        assert again.content == first.content

    def test_the_same_key_with_another_body_is_422(self, erp_api):
        put(erp_api, kingdee(), key="k-1")
        other = put(erp_api, kingdee(name="上海华盛"), key="k-1")
        assert other.status_code == 422
        assert other.json()["error"] == "IdempotencyKeyReused"
        elsewhere = put(
            erp_api, kingdee(), key="k-1", path="/api/v1/systems/erp/records/CUST-2"
        )
        assert elsewhere.status_code == 422
        assert SourceRecord.objects.count() == 1
        assert SourceRecord.objects.get().name == "北京华盛科技有限公司"

    def test_without_the_header_every_request_runs(self, erp_api):
        assert put(erp_api, kingdee()).status_code == 201
        again = put(erp_api, kingdee())
        assert again.status_code == 200
        assert again.json()["outcome"] == "unchanged"
        assert "Idempotent-Replayed" not in again
        assert not IdempotencyKey.objects.exists()

    def test_keys_belong_to_one_client(self, erp_api, admin_api):
        put(erp_api, kingdee(), key="shared")
        other = put(admin_api, kingdee(), key="shared")
        assert other.status_code == 200
        assert other.json()["outcome"] == "unchanged"
        assert IdempotencyKey.objects.count() == 2

    def test_batch_and_delete_are_replayed(self, erp_api):
        body = {"records": [{"source_id": "CUST-1", "payload": kingdee()}]}
        headers = {"Idempotency-Key": "batch-1"}
        first = erp_api.post(BATCH, body, format="json", headers=headers)
        again = erp_api.post(BATCH, body, format="json", headers=headers)
        assert first.status_code == again.status_code == 200
        assert again.content == first.content
        assert again["Idempotent-Replayed"] == "true"

        headers = {"Idempotency-Key": "delete-1"}
        gone = erp_api.delete(RECORD, headers=headers)
        assert gone.status_code == 200
        record = SourceRecord.objects.get()
        versions = record.history.count()
        replayed = erp_api.delete(RECORD, headers=headers)
        assert replayed.content == gone.content
        assert replayed["Idempotent-Replayed"] == "true"
        assert record.history.count() == versions

    def test_a_client_error_is_stored_and_replayed(self, erp_api):
        headers = {"Idempotency-Key": "bad-batch"}
        first = erp_api.post(BATCH, {"records": []}, format="json", headers=headers)
        assert first.status_code == 400
        again = erp_api.post(BATCH, {"records": []}, format="json", headers=headers)
        assert again.status_code == 400
        assert again.content == first.content
        assert again["Idempotent-Replayed"] == "true"

    def test_a_server_error_releases_the_key(self, erp_api, monkeypatch):
        def broken(**kwargs):
            raise RuntimeError("database went away")

        monkeypatch.setattr("mdm.api.ingest.record_ingest", broken)
        with pytest.raises(RuntimeError):
            put(erp_api, kingdee(), key="k-1")
        assert not IdempotencyKey.objects.exists()
        monkeypatch.undo()
        retry = put(erp_api, kingdee(), key="k-1")
        assert retry.status_code == 201
        assert "Idempotent-Replayed" not in retry
        assert IdempotencyKey.objects.get().state == IdempotencyKey.State.DONE

    def test_a_key_still_running_gets_409_with_retry_after(self, erp_api, monkeypatch):
        monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.1)
        put(erp_api, kingdee(), key="k-1")
        IdempotencyKey.objects.update(state=IdempotencyKey.State.IN_PROGRESS)
        busy = put(erp_api, kingdee(), key="k-1")
        assert busy.status_code == 409
        assert busy.json()["error"] == "IdempotencyKeyInUse"
        assert busy["Retry-After"] == "1"

    def test_a_key_abandoned_in_progress_is_taken_over(self, erp_api):
        put(erp_api, kingdee(), key="k-1")
        IdempotencyKey.objects.update(
            state=IdempotencyKey.State.IN_PROGRESS,
            created_at=timezone.now() - idempotency.STALE_AFTER - timedelta(1),
        )
        retry = put(erp_api, kingdee(), key="k-1")
        assert retry.status_code == 200  # ran again: the record is unchanged
        assert "Idempotent-Replayed" not in retry
        assert IdempotencyKey.objects.get().state == IdempotencyKey.State.DONE

    @pytest.mark.parametrize("key", ["", "x" * 256, "clé-1", "k\t1"])
    def test_a_malformed_key_is_400(self, erp_api, key):
        response = put(erp_api, kingdee(), key=key)
        assert response.status_code == 400
        assert response.json()["error"] == "InvalidIdempotencyKey"
        assert not SourceRecord.objects.exists()

    def test_keys_are_kept_for_the_ttl_then_purged(self, erp_api, settings):
        assert settings.IDEMPOTENCY_KEY_TTL_HOURS >= 24
        put(erp_api, kingdee(), key="recent")
        put(erp_api, kingdee("CUST-2"), key="old", path=RECORD[:-1] + "2")
        now = timezone.now()
        IdempotencyKey.objects.filter(key="recent").update(
            created_at=now - timedelta(hours=25)
        )
        IdempotencyKey.objects.filter(key="old").update(
            created_at=now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS + 1)
        )
        call_command("purge_idempotency_keys")
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]
        assert put(erp_api, kingdee(), key="recent")["Idempotent-Replayed"] == "true"

    def test_a_hundred_sequential_requests_create_one_record(
        self, erp_api, fast_throttle
    ):
        responses = [put(erp_api, kingdee(), key="k-100") for _ in range(100)]
        assert {(r.status_code, r.content) for r in responses} == {
            (201, responses[0].content)
        }
        assert SourceRecord.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("method", ["put", "post"])
def test_a_hundred_concurrent_requests_create_one_record(method, fast_throttle):
    secret = client_with_token("kingdee", "erp", ["write"]).secret
    crowd = 100
    start = threading.Barrier(crowd)

    def send(_):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        headers = {"Idempotency-Key": f"race-{method}"}
        try:
            start.wait()
            if method == "put":
                response = api.put(RECORD, kingdee(), format="json", headers=headers)
            else:
                body = {"records": [{"source_id": "CUST-1", "payload": kingdee()}]}
                response = api.post(BATCH, body, format="json", headers=headers)
            replayed = response.headers.get("Idempotent-Replayed") == "true"
            return response.status_code, response.content, replayed
        finally:
            connections.close_all()

    # 100 threads hold 100 connections: leave none open here, so a server
    # with PostgreSQL's default max_connections (100) has room for them.
    connections.close_all()
    with ThreadPoolExecutor(crowd) as pool:
        outcomes = list(pool.map(send, range(crowd)))

    assert len({(code, body) for code, body, _ in outcomes}) == 1, {
        o[0] for o in outcomes
    }
    assert outcomes[0][0] == (201 if method == "put" else 200)
    assert sum(not replayed for _, _, replayed in outcomes) == 1  # one ran
    assert SourceRecord.objects.count() == 1
    assert SourceRecord.objects.get().history.count() == 1
    assert IdempotencyKey.objects.get().state == IdempotencyKey.State.DONE
