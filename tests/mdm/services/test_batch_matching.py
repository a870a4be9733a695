"""Batch matching applied to stored records: new golden records, and
records that join the golden record their cluster already has."""

import pytest

from mdm.models import CrossReference, SourceRecord, SourceSystem
from mdm.services.batch_matching import matching_run_batch
from mdm.services.source_records import source_record_upsert_many

pytestmark = pytest.mark.django_db

USCC = "91110108MA01KPGK0L"


def store(system: str, items: list[tuple[str, dict]]) -> None:
    """Records as an import stores them: in no golden record yet."""
    source_record_upsert_many(system=SourceSystem.objects.get(code=system), items=items)


def golden_of(source_id: str) -> str:
    return CrossReference.objects.get(
        source_record=SourceRecord.objects.get(source_id=source_id)
    ).golden.golden_id


def test_a_record_stored_later_joins_the_golden_record_of_its_cluster():
    company = {"FName": "北京华盛科技有限公司", "FTaxRegisterCode": USCC}
    store("erp", [("E-1", {"FNumber": "E-1", **company, "FTel": "13800138000"})])
    store("erp", [("E-9", {"FNumber": "E-9", "FName": "上海东方贸易有限公司"})])
    first = matching_run_batch()
    assert (first.stats["golden_created"], first.stats["records_joined_existing"]) == (
        2,
        0,
    )
    store(
        "crm",
        [("0015g00000AbCdE", {"Id": "0015g00000AbCdE", "Name": "北京华盛科技有限公司",
                              "Tax_ID__c": USCC, "Phone": "138 0013 8000"})],
    )  # fmt: skip
    second = matching_run_batch()
    assert (
        second.stats["golden_created"],
        second.stats["records_joined_existing"],
    ) == (0, 1)
    assert golden_of("0015g00000AbCdE") == golden_of("E-1") != golden_of("E-9")
    link = CrossReference.objects.get(source_record__source_id="0015g00000AbCdE")
    assert link.method == CrossReference.Method.AUTO_MATCH
