"""Batch matching applied to stored records: new golden records, and
records that join the golden record their cluster already has."""

import threading

import pytest
from django.db import connection, connections

from mdm.models import CrossReference, MatchRun, SourceRecord, SourceSystem
from mdm.services import batch_matching
from mdm.services.batch_matching import matching_run_batch
from mdm.services.ingestion import source_record_place
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


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks need PostgreSQL (SQLite's run holds the write lock)",
)
def test_a_record_placed_by_another_writer_while_the_run_applies_is_placed_once(
    monkeypatch,
):
    company = {"FName": "北京华盛科技有限公司", "FTaxRegisterCode": USCC}
    store("erp", [("E-1", {"FNumber": "E-1", **company, "FTel": "13800138000"})])
    matching_run_batch()  # trains the model real-time matching uses
    store(
        "crm",
        [("C-1", {"Id": "C-1", "Name": "北京华盛科技有限公司", "Tax_ID__c": USCC})],
    )
    store("erp", [("E-9", {"FNumber": "E-9", "FName": "上海东方贸易有限公司"})])
    other = SourceRecord.objects.get(source_id="E-9")
    seen: dict[str, object] = {}
    real_join = batch_matching._join

    def place_elsewhere() -> None:
        try:
            seen["outcome"] = source_record_place(record_id=other.pk)
        finally:
            connections.close_all()

    def joining_while_another_places(unlinked, golden_pk):
        # While the run joins C-1, an import's one-by-one path (or an API
        # upsert) places E-9, which the run is about to place too.
        writer = threading.Thread(target=place_elsewhere)
        writer.start()
        writer.join(3)
        seen["waited"], seen["writer"] = writer.is_alive(), writer
        return real_join(unlinked, golden_pk)

    monkeypatch.setattr(batch_matching, "_join", joining_while_another_places)
    run = matching_run_batch()
    seen["writer"].join(30)
    assert run.status == MatchRun.Status.DONE
    assert (run.stats["records_joined_existing"], run.stats["golden_created"]) == (
        1,
        1,
    )
    assert seen["waited"] is True  # E-9 was the run's until it committed
    assert seen["outcome"] is None  # then found placed
    assert CrossReference.objects.filter(source_record=other).count() == 1
