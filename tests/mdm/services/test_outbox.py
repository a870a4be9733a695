import pytest
from django.db import transaction

from mdm.models import OutboxEvent, StewardDecision
from mdm.services.golden_records import golden_record_merge
from mdm.services.outbox import outbox_emit
from mdm.services.unmerge import golden_record_unmerge
from tests.builders import make_golden
from tests.mdm.ui.helpers import make_steward

pytestmark = pytest.mark.django_db


def test_creating_a_golden_record_writes_one_event_with_its_members():
    golden = make_golden("北京华盛科技有限公司", FNumber="CUST-1")
    event = OutboxEvent.objects.get()
    assert (event.topic, event.golden_id, event.version) == (
        "golden.created",
        golden.golden_id,
        golden.version,
    )
    assert event.payload["members"] == [{"system": "erp", "source_id": "CUST-1"}]
    assert event.payload["id_card"]["legal_name"] == "北京华盛科技有限公司"


def test_a_merge_says_which_golden_ids_were_absorbed():
    steward = make_steward()
    survivor, other = make_golden(FNumber="C1"), make_golden("华盛科技", FNumber="C2")
    golden_record_merge(
        survivor=survivor, absorbed=[other], steward=steward, reason="x"
    )
    event = OutboxEvent.objects.filter(topic="golden.merged").get()
    assert event.golden_id == survivor.golden_id
    assert event.payload["absorbed"] == [other.golden_id]
    assert {m["source_id"] for m in event.payload["members"]} == {"C1", "C2"}


def test_an_unmerge_announces_every_restored_record():
    steward = make_steward()
    survivor, other = make_golden(FNumber="C1"), make_golden("华盛科技", FNumber="C2")
    golden_record_merge(
        survivor=survivor, absorbed=[other], steward=steward, reason="x"
    )
    decision = StewardDecision.objects.get(kind="merge")
    golden_record_unmerge(decision=decision, steward=steward, reason="wrong")
    events = OutboxEvent.objects.filter(topic="golden.unmerged")
    assert {e.golden_id for e in events} == {survivor.golden_id, other.golden_id}


def test_a_rolled_back_change_leaves_no_event():
    with pytest.raises(RuntimeError), transaction.atomic():
        make_golden(FNumber="C1")
        raise RuntimeError("the domain write failed after the event")
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_emitting_outside_a_transaction_is_refused():
    golden = make_golden(FNumber="C1")
    with pytest.raises(RuntimeError, match="inside"):
        outbox_emit(topic="golden.updated", golden=golden)
