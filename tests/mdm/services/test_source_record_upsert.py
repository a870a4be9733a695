import json

import pytest
from django.db import IntegrityError, transaction

from mdm.models import SourceRecord
from mdm.services.errors import PayloadError
from mdm.services.source_records import source_record_mark_deleted, source_record_upsert
from tests.builders import make_system

pytestmark = pytest.mark.django_db

VALID_USCC = "91110108MA01KPGK0L"  # check digit correct
INVALID_USCC = "91110108MA01KPGK0M"  # one character off


def erp_payload(**overrides):
    payload = {
        "FNumber": "CUST-0001",
        "FName": "北京华盛科技有限公司",
        "FTaxRegisterCode": VALID_USCC,
        "FTel": "010-6552 1234 / 138 0013 8000",
        "FAddress": "北京市朝阳区建国路88号",
        "FContact": "王总",
    }
    payload.update(overrides)
    return payload


def upsert(payload, source_id="CUST-0001", system="erp"):
    return source_record_upsert(
        system=make_system(system), source_id=source_id, payload=payload
    )


def test_it_creates_then_reports_an_unchanged_resend():
    first = upsert(erp_payload())
    again = upsert(erp_payload())
    assert (first.outcome, again.outcome) == ("created", "unchanged")
    assert SourceRecord.objects.count() == 1
    assert first.record.history.count() == 1


def test_key_order_does_not_count_as_a_change():
    upsert(erp_payload())
    reordered = dict(reversed(list(erp_payload().items())))
    assert upsert(reordered).outcome == "unchanged"


def test_a_duplicate_key_is_an_update_not_a_second_row():
    upsert(erp_payload())
    result = upsert(erp_payload(FTel="021-5555 0000"))
    assert result.outcome == "updated"
    assert SourceRecord.objects.count() == 1
    assert result.record.history.count() == 2
    assert result.record.attributes["phones"] == ["021-5555 0000"]


def test_the_database_refuses_a_second_row_for_the_same_key():
    record = upsert(erp_payload()).record
    with pytest.raises(IntegrityError), transaction.atomic():
        SourceRecord.objects.create(
            source_system=record.source_system,
            source_id=record.source_id,
            raw_payload="{}",
            fingerprint="x",
        )


def test_the_same_source_id_in_another_system_is_another_record():
    upsert(erp_payload())
    upsert({"Id": "CUST-0001", "Name": "华盛科技"}, system="crm")
    assert SourceRecord.objects.count() == 2


def test_the_raw_payload_round_trips_byte_for_byte():
    text = '{"FName": "北京华盛科技有限公司 🚀",  "FTel":"138 0013 8000", "n": 1.50}'
    record = upsert(text).record
    stored = SourceRecord.objects.get(pk=record.pk).raw_payload
    assert stored == text
    assert stored.encode("utf-8") == text.encode("utf-8")
    assert json.loads(stored)["FName"].endswith("🚀")


def test_a_dict_payload_keeps_chinese_and_emoji_verbatim():
    record = upsert(erp_payload(FName="華盛科技 😀")).record
    assert "華盛科技 😀" in SourceRecord.objects.get(pk=record.pk).raw_payload


@pytest.mark.parametrize(
    "payload", ["[1, 2]", '"just a string"', "42", [1, 2], "not json {"]
)
def test_a_payload_that_is_not_an_object_is_refused_clearly(payload):
    with pytest.raises(PayloadError, match="JSON"):
        upsert(payload)
    assert SourceRecord.objects.count() == 0


@pytest.mark.parametrize("source_id", ["", "   ", "x" * 256])
def test_an_unusable_source_id_is_refused(source_id):
    with pytest.raises(PayloadError, match="source ID"):
        upsert(erp_payload(), source_id=source_id)


def test_an_invalid_uscc_is_stored_and_flagged_never_fixed():
    record = upsert(erp_payload(FTaxRegisterCode=INVALID_USCC)).record
    assert record.uscc == INVALID_USCC
    assert record.uscc_valid is False
    assert record.attributes["uscc"] == INVALID_USCC


def test_a_valid_uscc_is_flagged_valid():
    assert upsert(erp_payload()).record.uscc_valid is True


def test_it_standardises_phones_for_matching():
    record = upsert(erp_payload()).record
    assert set(record.standardised["phones"]) == {"+861065521234", "+8613800138000"}
    assert record.standardised["name_core"] == "华盛科技"


def test_a_delete_in_the_source_marks_the_record_inactive_and_keeps_it():
    record = upsert(erp_payload()).record
    source_record_mark_deleted(system=record.source_system, source_id="CUST-0001")
    record.refresh_from_db()
    assert record.is_active is False
    assert record.deleted_in_source_at is not None
    assert record.history.first().history_change_reason == "deleted in erp"


def test_a_resend_after_a_delete_reactivates_the_record():
    record = upsert(erp_payload()).record
    source_record_mark_deleted(system=record.source_system, source_id="CUST-0001")
    result = upsert(erp_payload())
    assert result.outcome == "updated"
    assert result.record.is_active is True


def test_source_timestamps_are_read_from_the_payload():
    record = upsert(
        {
            "Id": "001A",
            "Name": "华盛科技",
            "CreatedDate": "2021-03-05T08:00:00Z",
            "LastModifiedDate": "2024-01-02T03:04:05.000Z",
        },
        source_id="001A",
        system="crm",
    ).record
    assert record.source_created_at.isoformat() == "2021-03-05T08:00:00+00:00"
    assert record.source_updated_at.year == 2024
