import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation
from simple_history.utils import get_history_model_for_model

from mdm.models import (
    CrossReference,
    GoldenIdAllocation,
    GoldenRecord,
    OutboxEvent,
    StewardDecision,
)
from mdm.selectors.golden_records import golden_record_resolve
from mdm.services.errors import ConflictError
from mdm.services.golden_records import (
    SNAPSHOT_FIELDS,
    golden_record_create,
    golden_record_merge,
    golden_record_pin_set,
)
from mdm.services.split import (
    SplitError,
    golden_record_split,
    golden_record_split_plan,
    golden_record_split_undo,
)
from mdm.services.unmerge import golden_record_unmerge
from tests.mdm.ui.helpers import golden_of, make_record, make_steward, make_viewer

pytestmark = pytest.mark.django_db


@pytest.fixture
def steward():
    return make_steward()


@pytest.fixture
def five(steward):
    """One golden record of five source records: three of 华盛 (one of them
    from the CRM), two of 明远, as an engine's wrong auto-merge leaves them."""
    records = [
        make_record(FName="北京华盛科技有限公司", FTel="010-65521234"),
        make_record("crm", Name="华盛科技", Phone="138 0013 8000"),
        make_record(FName="北京华盛科技有限公司", FEMail="sales@huasheng.cn"),
        make_record(FName="上海明远贸易有限公司", FTel="021-5555 0000"),
        make_record(FName="上海明远贸易有限公司", FEMail="info@mingyuan.cn"),
    ]
    golden = golden_record_create(members=records, method="auto_match")
    return golden, records


def split(golden, groups, steward, **extra):
    golden.refresh_from_db()
    return golden_record_split(
        golden=golden,
        groups={r.pk: g for r, g in groups.items()},
        steward=steward,
        reason=extra.pop("reason", "two companies"),
        expected_version=extra.pop("expected_version", golden.version),
        **extra,
    )


def state() -> dict:
    goldens = {
        g.golden_id: (
            g.status,
            g.merged_into_id,
            {name: getattr(g, name) for name in SNAPSHOT_FIELDS},
            g.lineage,
        )
        for g in GoldenRecord.objects.all()
    }
    mapping = dict(
        CrossReference.objects.values_list("source_record_id", "golden__golden_id")
    )
    return {"goldens": goldens, "mapping": mapping}


def mingyuan_apart(records):
    return {r: 1 if i < 3 else 2 for i, r in enumerate(records)}


def test_the_largest_group_keeps_the_golden_id_and_the_others_get_new_ones(
    five, steward
):
    golden, records = five
    issued = GoldenIdAllocation.objects.count()
    decision = split(golden, mingyuan_apart(records), steward)
    (new_id,) = decision.details["created"]
    assert decision.details == {"golden": golden.golden_id, "created": [new_id]}
    assert GoldenIdAllocation.objects.count() == issued + 1
    assert {golden_of(r).golden_id for r in records[:3]} == {golden.golden_id}
    assert {golden_of(r).golden_id for r in records[3:]} == {new_id}
    new = GoldenRecord.objects.get(golden_id=new_id)
    assert new.status == GoldenRecord.Status.ACTIVE and new.version == 1
    assert new.legal_name == "上海明远贸易有限公司"
    assert new.emails == ["info@mingyuan.cn"]
    golden.refresh_from_db()
    assert golden.legal_name == "北京华盛科技有限公司"
    assert "info@mingyuan.cn" not in golden.emails
    assert set(golden.phones) == {"+861065521234", "+8613800138000"}


def test_the_steward_chooses_which_group_keeps_the_golden_id(five, steward):
    golden, records = five
    decision = split(golden, mingyuan_apart(records), steward, keep=2)
    assert golden_of(records[3]).pk == golden.pk
    assert golden_of(records[0]).golden_id == decision.details["created"][0]


def test_on_a_tie_the_group_of_the_earliest_record_keeps_the_id(five, steward):
    golden, records = five
    groups = {r: 1 if i in (1, 3) else 2 for i, r in enumerate(records[:4])}
    groups[records[4]] = 3
    decision = split(golden, groups, steward)
    assert golden_of(records[0]).pk == golden.pk  # group 2: records 0 and 2
    assert len(decision.details["created"]) == 2
    kept = decision.members.filter(group=0).values_list("source_record", flat=True)
    assert sorted(kept) == sorted([records[0].pk, records[2].pk])


def test_the_decision_names_every_member_with_its_group(five, steward):
    golden, records = five
    before = golden_record_resolve(golden.golden_id).record
    decision = split(golden, mingyuan_apart(records), steward, reason="not one firm")
    assert (decision.kind, decision.decided_by, decision.reason) == (
        StewardDecision.Kind.SPLIT,
        steward,
        "not one firm",
    )
    groups = dict(decision.members.values_list("source_record_id", "group"))
    assert groups == {r.pk: 0 if i < 3 else 1 for i, r in enumerate(records)}
    snapshot = decision.snapshot[golden.golden_id]
    assert snapshot["members"] == sorted(r.pk for r in records)
    assert snapshot["values"]["emails"] == before.emails


def test_every_record_involved_gets_a_split_event_and_history(five, steward):
    golden, records = five
    decision = split(golden, mingyuan_apart(records), steward)
    (new_id,) = decision.details["created"]
    events = OutboxEvent.objects.filter(topic=OutboxEvent.Topic.SPLIT).order_by("pk")
    assert [e.golden_id for e in events] == [golden.golden_id, new_id]
    moved = {m["source_id"] for m in events[1].payload["members"]}
    assert moved == {records[3].source_id, records[4].source_id}
    assert events[0].payload["created"] == [new_id]
    golden.refresh_from_db()
    assert events[0].version == golden.version
    change = golden.history.first()
    assert change.history_user == steward and new_id in change.history_change_reason
    new = GoldenRecord.objects.get(golden_id=new_id)
    assert new.history.get().history_change_reason.startswith(
        f"split from {golden.golden_id}"
    )
    xref_history = get_history_model_for_model(CrossReference)
    assert xref_history.objects.filter(golden_id=new.pk).count() == 2


def test_a_stale_version_is_refused_and_nothing_is_written(five, steward):
    golden, records = five
    before = state()
    with pytest.raises(ConflictError):
        split(golden, mingyuan_apart(records), steward, expected_version=0)
    assert state() == before
    assert not StewardDecision.objects.exists()
    assert not OutboxEvent.objects.filter(topic=OutboxEvent.Topic.SPLIT).exists()


def test_the_second_of_two_stewards_gets_already_decided(five, steward):
    golden, records = five
    version = golden.version
    split(golden, mingyuan_apart(records), steward, expected_version=version)
    other = make_steward("bob")
    with translation.override("en"), pytest.raises(ConflictError, match="changed"):
        split(
            golden,
            {r: 1 if i else 2 for i, r in enumerate(records)},
            other,
            expected_version=version,
        )
    assert StewardDecision.objects.count() == 1


@pytest.mark.parametrize(
    "groups, message",
    [
        (lambda rs: {r: 1 for r in rs}, "two groups"),
        (lambda rs: {r: 1 if i else 2 for i, r in enumerate(rs[:4])}, "every"),
    ],
)
def test_it_refuses_a_partition_that_is_not_one(five, steward, groups, message):
    golden, records = five
    with translation.override("en"), pytest.raises(SplitError, match=message):
        split(golden, groups(records), steward)


def test_it_refuses_a_record_of_another_golden_record(five, steward):
    golden, records = five
    stranger = make_record(FName="深圳宏达电子有限公司")
    golden_record_create(members=[stranger])
    groups = {**mingyuan_apart(records), stranger: 2}
    with translation.override("en"), pytest.raises(SplitError, match="not members"):
        split(golden, groups, steward)


def test_it_refuses_an_empty_group_to_keep_the_id(five, steward):
    golden, records = five
    with pytest.raises(SplitError):
        split(golden, mingyuan_apart(records), steward, keep=7)


def test_a_viewer_cannot_split(five):
    golden, records = five
    with pytest.raises(PermissionDenied):
        split(golden, mingyuan_apart(records), make_viewer())


def test_a_merged_away_record_cannot_be_split(five, steward):
    golden, records = five
    other = golden_record_create(members=[make_record(FName="华盛")])
    golden_record_merge(survivor=other, absorbed=[golden], steward=steward, reason="x")
    golden.refresh_from_db()
    with pytest.raises(SplitError):
        split(golden, mingyuan_apart(records), steward)


def test_a_pin_follows_the_records_that_hold_its_value(five, steward):
    golden, records = five
    golden_record_pin_set(
        golden=golden,
        attribute="legal_name",
        value="上海明远贸易有限公司",
        steward=steward,
        expected_version=golden.version,
    )
    golden_record_pin_set(
        golden=golden,
        attribute="short_name",
        value="华盛",
        steward=steward,
        expected_version=golden.version + 1,
    )
    decision = split(golden, mingyuan_apart(records), steward)
    golden.refresh_from_db()
    new = GoldenRecord.objects.get(golden_id=decision.details["created"][0])
    # The chosen name is one the 明远 records hold: it goes with them, and
    # the 华盛 group's sources decide its name again.
    assert new.legal_name == "上海明远贸易有限公司"
    assert new.lineage["legal_name"]["steward"] == "alice"
    assert golden.legal_name == "北京华盛科技有限公司"
    assert "steward" not in golden.lineage["legal_name"]
    # A value typed by hand, held by no record, stays with the golden ID.
    assert golden.short_name == "华盛" and golden.lineage["short_name"]["steward"]
    assert "short_name" not in new.lineage


def test_the_plan_is_what_the_split_writes(five, steward):
    golden, records = five
    plan = golden_record_split_plan(
        golden=golden, groups={r.pk: g for r, g in mingyuan_apart(records).items()}
    )
    assert [g.keeps_id for g in plan] == [True, False]
    decision = split(golden, mingyuan_apart(records), steward)
    new = GoldenRecord.objects.get(golden_id=decision.details["created"][0])
    golden.refresh_from_db()
    for record, group in ((golden, plan[0]), (new, plan[1])):
        assert {a: getattr(record, a) for a in group.values} == group.values
        assert record.lineage == group.lineage


def test_undo_restores_mapping_and_values_exactly(five, steward):
    golden, records = five
    golden_record_pin_set(
        golden=golden,
        attribute="legal_name",
        value="上海明远贸易有限公司",
        steward=steward,
        expected_version=golden.version,
    )
    golden.refresh_from_db()
    before = state()
    decision = split(golden, mingyuan_apart(records), steward)
    (new_id,) = decision.details["created"]
    golden.refresh_from_db()
    merge = golden_record_split_undo(
        decision=decision,
        steward=steward,
        reason="one firm after all",
        expected_version=golden.version,
    )
    after = state()
    new = after["goldens"].pop(new_id)
    assert after == before
    # The new golden ID is not reused or dropped: it resolves to the record.
    assert new[0] == GoldenRecord.Status.MERGED
    assert golden_record_resolve(new_id).record.pk == golden.pk
    assert merge.kind == StewardDecision.Kind.MERGE
    assert merge.details == {
        "survivor": golden.golden_id,
        "absorbed": [new_id],
        "undo_of": decision.pk,
    }
    event = OutboxEvent.objects.latest("pk")
    assert (event.topic, event.golden_id) == (
        OutboxEvent.Topic.MERGED,
        golden.golden_id,
    )


def test_a_split_is_undone_once_and_unmerging_the_undo_splits_again(five, steward):
    golden, records = five
    decision = split(golden, mingyuan_apart(records), steward)
    after_split = state()
    golden.refresh_from_db()
    merge = golden_record_split_undo(
        decision=decision, steward=steward, reason="x", expected_version=golden.version
    )
    golden.refresh_from_db()
    with translation.override("en"), pytest.raises(SplitError, match="already"):
        golden_record_split_undo(
            decision=decision,
            steward=steward,
            reason="again",
            expected_version=golden.version,
        )
    golden_record_unmerge(decision=merge, steward=steward, reason="split was right")
    assert state() == after_split
    golden.refresh_from_db()
    golden_record_split_undo(
        decision=decision, steward=steward, reason="y", expected_version=golden.version
    )
    assert {golden_of(r).pk for r in records} == {golden.pk}


def test_undo_checks_the_version(five, steward):
    golden, records = five
    decision = split(golden, mingyuan_apart(records), steward)
    with pytest.raises(ConflictError):
        golden_record_split_undo(
            decision=decision, steward=steward, reason="x", expected_version=1
        )


def test_a_later_split_of_a_new_record_must_be_undone_first(five, steward):
    golden, records = five
    first = split(golden, mingyuan_apart(records), steward)
    new = GoldenRecord.objects.get(golden_id=first.details["created"][0])
    second = split(new, {records[3]: 1, records[4]: 2}, steward)
    golden.refresh_from_db()
    with translation.override("en"), pytest.raises(SplitError, match="undo that"):
        golden_record_split_undo(
            decision=first, steward=steward, reason="x", expected_version=golden.version
        )
    new.refresh_from_db()
    golden_record_split_undo(
        decision=second, steward=steward, reason="x", expected_version=new.version
    )
    golden_record_split_undo(
        decision=first, steward=steward, reason="x", expected_version=golden.version
    )
    assert {golden_of(r).pk for r in records} == {golden.pk}


def test_a_new_record_merged_elsewhere_blocks_the_undo(five, steward):
    golden, records = five
    decision = split(golden, mingyuan_apart(records), steward)
    new = GoldenRecord.objects.get(golden_id=decision.details["created"][0])
    other = golden_record_create(members=[make_record(FName="上海明远贸易")])
    golden_record_merge(survivor=other, absorbed=[new], steward=steward, reason="m")
    golden.refresh_from_db()
    with translation.override("en"), pytest.raises(SplitError, match="merge first"):
        golden_record_split_undo(
            decision=decision,
            steward=steward,
            reason="x",
            expected_version=golden.version,
        )


def test_an_unmerge_cannot_be_undone_as_a_split(five, steward):
    golden, _records = five
    other = golden_record_create(members=[make_record(FName="华盛")])
    golden_record_merge(survivor=golden, absorbed=[other], steward=steward, reason="m")
    unmerge = golden_record_unmerge(
        decision=StewardDecision.objects.get(kind="merge"), steward=steward, reason="u"
    )
    golden.refresh_from_db()
    with pytest.raises(SplitError):
        golden_record_split_undo(
            decision=unmerge,
            steward=steward,
            reason="x",
            expected_version=golden.version,
        )
