import pytest

from mdm.golden_ids import InvalidGoldenId
from mdm.models import CrossReference, GoldenIdAllocation, GoldenRecord, StewardDecision
from mdm.selectors.golden_records import golden_record_resolve
from mdm.services.errors import MergeError
from mdm.services.golden_records import (
    golden_record_create,
    golden_record_merge,
    golden_record_merge_locked,
    golden_records_lock,
)
from tests.builders import make_golden, make_source_record, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def steward():
    return make_user()


def test_it_moves_source_links_to_the_survivor(steward):
    survivor, other = make_golden("北京华盛科技有限公司"), make_golden("华盛科技")
    golden_record_merge(
        survivor=survivor, absorbed=[other], steward=steward, reason="dup"
    )
    assert CrossReference.objects.filter(golden=survivor).count() == 2
    assert not CrossReference.objects.filter(golden=other).exists()


def test_a_merged_away_id_resolves_to_its_survivor(steward):
    survivor, other = make_golden(), make_golden("华盛科技")
    golden_record_merge(
        survivor=survivor, absorbed=[other], steward=steward, reason="dup"
    )
    resolution = golden_record_resolve(other.golden_id)
    assert resolution.record.pk == survivor.pk
    assert resolution.chain == [other.golden_id, survivor.golden_id]


def test_resolution_follows_a_chain_of_merges(steward):
    a, b, c = make_golden(), make_golden("华盛科技"), make_golden("华盛")
    golden_record_merge(survivor=b, absorbed=[a], steward=steward, reason="1")
    golden_record_merge(survivor=c, absorbed=[b], steward=steward, reason="2")
    resolution = golden_record_resolve(a.golden_id.lower())
    assert resolution.record.pk == c.pk
    assert resolution.chain == [a.golden_id, b.golden_id, c.golden_id]


def test_a_mistyped_golden_id_is_caught_by_the_check_digit():
    golden_id = make_golden().golden_id
    typo = golden_id[:-2] + str((int(golden_id[-2]) + 1) % 10) + golden_id[-1]
    with pytest.raises(InvalidGoldenId):
        golden_record_resolve(typo)


def test_it_records_the_decision_with_who_and_why(steward):
    survivor, other = make_golden(), make_golden("华盛科技")
    golden_record_merge(
        survivor=survivor, absorbed=[other], steward=steward, reason="same USCC"
    )
    decision = StewardDecision.objects.get()
    assert (decision.kind, decision.decided_by, decision.reason) == (
        "merge",
        steward,
        "same USCC",
    )
    assert decision.details == {
        "survivor": survivor.golden_id,
        "absorbed": [other.golden_id],
    }
    assert set(decision.members.values_list("source_record", flat=True)) == set(
        CrossReference.objects.filter(golden=survivor).values_list(
            "source_record", flat=True
        )
    )
    assert decision.members.count() == 2


def test_it_writes_history_for_the_golden_records_and_links(steward):
    survivor, other = make_golden(), make_golden("华盛科技")
    moved = other.xrefs.get()
    golden_record_merge(
        survivor=survivor, absorbed=[other], steward=steward, reason="dup"
    )
    other.refresh_from_db()
    assert other.history.first().history_change_reason.startswith(
        f"merged into {survivor.golden_id}"
    )
    assert other.history.count() == 2
    link_history = [h.golden_id for h in moved.history.order_by("history_date")]
    assert link_history == [other.pk, survivor.pk]


def test_it_refuses_self_merge(steward):
    golden = make_golden()
    with pytest.raises(MergeError, match="itself"):
        golden_record_merge(
            survivor=golden, absorbed=[golden], steward=steward, reason="x"
        )


def test_it_refuses_to_merge_a_record_already_merged(steward):
    a, b, c = make_golden(), make_golden("华盛科技"), make_golden("华盛")
    golden_record_merge(survivor=a, absorbed=[b], steward=steward, reason="1")
    with pytest.raises(MergeError, match="active"):
        golden_record_merge(survivor=c, absorbed=[b], steward=steward, reason="2")
    assert GoldenRecord.objects.get(pk=b.pk).merged_into_id == a.pk


def test_golden_ids_are_never_reused_even_after_a_merge(steward):
    a, b = make_golden(), make_golden("华盛科技")
    golden_record_merge(survivor=a, absorbed=[b], steward=steward, reason="dup")
    later = [make_golden(f"公司{i}").golden_id for i in range(5)]
    issued = [a.golden_id, b.golden_id, *later]
    assert len(set(issued)) == len(issued)
    assert GoldenIdAllocation.objects.count() == len(issued)
    assert golden_record_resolve(b.golden_id).record.pk == a.pk


def test_the_survivor_takes_a_valid_uscc_over_an_invalid_one(steward):
    invalid = make_golden("华盛科技", FTaxRegisterCode="91110108MA01KPGK0M")
    valid = make_golden("华盛科技有限公司", FTaxRegisterCode="91110108MA01KPGK0L")
    valid_record = valid.xrefs.get().source_record_id
    merged = golden_record_merge(
        survivor=invalid, absorbed=[valid], steward=steward, reason="x"
    )
    assert (merged.uscc, merged.uscc_valid) == ("91110108MA01KPGK0L", True)
    assert merged.lineage["uscc"]["source_record"] == valid_record


def test_lists_are_unions_with_duplicates_folded(steward):
    a = make_golden(FTel="138 0013 8000")
    b = make_golden("华盛科技", FTel="+86 13800138000 / 010-65521234")
    merged = golden_record_merge(survivor=a, absorbed=[b], steward=steward, reason="x")
    assert sorted(merged.phones) == ["+861065521234", "+8613800138000"]
    assert len(merged.lineage["phones"]) == 2


def test_a_golden_record_needs_members():
    with pytest.raises(MergeError):
        golden_record_create(members=[])


def test_a_source_record_belongs_to_one_golden_record_at_a_time():
    record = make_source_record()
    golden_record_create(members=[record])
    assert CrossReference.objects.filter(source_record=record).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_merge_of_locked_records_needs_the_lock_s_transaction(steward):
    # Outside a transaction the locks would be gone before the merge wrote.
    survivor, other = GoldenRecord(pk=1), GoldenRecord(pk=2)
    with pytest.raises(RuntimeError, match="lock's transaction"):
        golden_record_merge_locked(
            locked={1: survivor, 2: other}, survivor=1, steward=steward, reason="dup"
        )


def test_a_merge_of_locked_records_folds_all_but_the_survivor(steward):
    survivor, other, third = make_golden(), make_golden("华盛"), make_golden("华盛科技")
    locked = golden_records_lock([survivor.pk, other.pk, third.pk], None)
    merged = golden_record_merge_locked(
        locked=locked, survivor=survivor.pk, steward=steward, reason="dup"
    )
    assert merged.pk == survivor.pk
    assert CrossReference.objects.filter(golden=survivor).count() == 3
    assert set(
        GoldenRecord.objects.filter(merged_into=survivor).values_list("pk", flat=True)
    ) == {other.pk, third.pk}
    with pytest.raises(MergeError, match="Nothing to merge"):
        golden_record_merge_locked(
            locked={survivor.pk: merged},
            survivor=survivor.pk,
            steward=steward,
            reason="",
        )
