"""A member changed in its source: the golden record is written only where
it changes, and broadcast only when its values do (golden_record_refresh)."""

import pytest

from mdm.models import OutboxEvent
from mdm.services.golden_records import golden_record_create
from mdm.services.ingestion import record_ingest
from tests.builders import make_source_record, make_system

pytestmark = pytest.mark.django_db

CRM = {"Id": "001A", "Name": "北京华盛科技有限公司"}


def events(golden) -> int:
    return OutboxEvent.objects.filter(golden_id=golden.golden_id).count()


@pytest.fixture
def golden():
    erp = make_source_record("erp", "CUST-1", FTel="010-65521234")
    crm = make_source_record("crm", "001A", **CRM)
    return golden_record_create(members=[erp, crm])


def update_crm(**fields):
    return record_ingest(
        system=make_system("crm"), source_id="001A", payload={**CRM, **fields}
    )


def test_new_values_are_a_new_version_and_an_event(golden):
    before = events(golden)
    result = update_crm(Phone="010-88889999")
    assert result.golden.version == golden.version + 1
    assert set(result.golden.phones) == {"+861065521234", "+861088889999"}
    assert events(golden) == before + 1


def test_the_same_values_from_another_source_are_history_without_an_event(golden):
    before = events(golden)
    result = update_crm(Phone="010-65521234")  # the phone the ERP already gave
    golden.refresh_from_db()
    assert golden.version == result.golden.version == 2
    assert golden.phones == ["+861065521234"]
    assert golden.lineage["phones"][0]["source"] == "crm:001A"
    assert (
        golden.history.first().history_change_reason
        == "crm:001A updated (lineage only)"
    )
    assert events(golden) == before


def test_a_change_the_card_does_not_hold_writes_nothing(golden):
    before = events(golden), golden.history.count()
    result = update_crm(LastModifiedDate="2026-11-28T08:00:00Z")
    assert result.outcome == "updated"  # the source record did change
    golden.refresh_from_db()
    assert golden.version == 1
    assert (events(golden), golden.history.count()) == before
