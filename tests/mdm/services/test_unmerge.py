import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from mdm.models import CrossReference, GoldenRecord, StewardDecision
from mdm.selectors.golden_records import golden_record_resolve
from mdm.services.decisions import decision_record_not_a_match
from mdm.services.golden_records import (
    SNAPSHOT_FIELDS,
    ConflictError,
    golden_record_create,
    golden_record_merge,
)
from mdm.services.source_records import source_record_upsert
from mdm.services.unmerge import UnmergeError, golden_record_unmerge
from tests.mdm.ui.helpers import golden_of, make_record, make_steward, make_viewer

pytestmark = pytest.mark.django_db


@pytest.fixture
def steward():
    return make_steward()


def state() -> dict:
    """Every golden record's identity, status, values and lineage, and which
    golden record each source record belongs to."""
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


@pytest.fixture
def three_customers(steward):
    """A (two members, one with a steward's pin) and B, C, one member each."""
    a1 = make_record(FName="北京华盛科技有限公司", FTel="010-65521234")
    a2 = make_record("crm", Name="华盛科技", Phone="138 0013 8000")
    b1 = make_record(FName="华盛科技(北京)有限公司", FEMail="sales@huasheng.cn")
    c1 = make_record(FName="华盛", FTaxRegisterCode="91110108MA01KPGK0L")
    a = golden_record_create(members=[a1])
    a_crm = golden_record_create(members=[a2])
    a = golden_record_merge(
        survivor=a,
        absorbed=[a_crm],
        steward=steward,
        reason="same phone",
        overrides={"legal_name": "华盛科技"},
    )
    return a, golden_record_create(members=[b1]), golden_record_create(members=[c1])


def test_merge_then_unmerge_restores_mapping_and_values_exactly(
    steward, three_customers
):
    a, b, c = three_customers
    before = state()
    golden_record_merge(
        survivor=a,
        absorbed=[b, c],
        steward=steward,
        reason="one group",
        overrides={"legal_name": "华盛科技(北京)有限公司"},
    )
    assert state() != before
    decision = StewardDecision.objects.get(reason="one group")
    golden_record_unmerge(decision=decision, steward=steward, reason="wrong")
    assert state() == before


def test_the_unmerged_golden_ids_live_again(steward, three_customers):
    a, b, _ = three_customers
    golden_record_merge(survivor=a, absorbed=[b], steward=steward, reason="dup")
    decision = StewardDecision.objects.get(reason="dup")
    golden_record_unmerge(decision=decision, steward=steward, reason="wrong")
    assert golden_record_resolve(b.golden_id).record.pk == b.pk
    b.refresh_from_db()
    assert (b.status, b.merged_into_id) == (GoldenRecord.Status.ACTIVE, None)
    assert b.history.first().history_change_reason.startswith(
        f"unmerge of decision {decision.pk}"
    )


def test_unmerge_records_a_split_decision(steward, three_customers):
    a, b, _ = three_customers
    b_member = b.xrefs.get().source_record_id
    golden_record_merge(survivor=a, absorbed=[b], steward=steward, reason="dup")
    merge = StewardDecision.objects.get(reason="dup")
    split = golden_record_unmerge(decision=merge, steward=steward, reason="wrong")
    assert (split.kind, split.decided_by, split.reason) == ("split", steward, "wrong")
    assert split.details == {
        "unmerge_of": merge.pk,
        "survivor": a.golden_id,
        "restored": [b.golden_id],
    }
    groups = {
        (m.source_record_id, m.group) for m in split.members.order_by("source_record")
    }
    assert (b_member, 1) in groups
    assert {group for _, group in groups} == {0, 1}


def test_a_merge_is_undone_only_once(steward, three_customers):
    a, b, _ = three_customers
    golden_record_merge(survivor=a, absorbed=[b], steward=steward, reason="dup")
    merge = StewardDecision.objects.get(reason="dup")
    golden_record_unmerge(decision=merge, steward=steward, reason="wrong")
    with translation.override("en"), pytest.raises(UnmergeError, match="already"):
        golden_record_unmerge(decision=merge, steward=steward, reason="again")


def test_a_survivor_merged_again_must_be_unmerged_first(steward, three_customers):
    a, b, c = three_customers
    golden_record_merge(survivor=a, absorbed=[b], steward=steward, reason="first")
    golden_record_merge(survivor=c, absorbed=[a], steward=steward, reason="second")
    first = StewardDecision.objects.get(reason="first")
    with translation.override("en"), pytest.raises(UnmergeError, match="first"):
        golden_record_unmerge(decision=first, steward=steward, reason="x")
    second = StewardDecision.objects.get(reason="second")
    golden_record_unmerge(decision=second, steward=steward, reason="x")
    golden_record_unmerge(decision=first, steward=steward, reason="x")
    assert GoldenRecord.objects.filter(status="active").count() == 3


def test_values_are_recomputed_when_members_changed_since_the_merge(
    steward, three_customers
):
    a, b, _ = three_customers
    record = b.xrefs.get().source_record
    golden_record_merge(survivor=a, absorbed=[b], steward=steward, reason="dup")
    source_record_upsert(
        system=record.source_system,
        source_id=record.source_id,
        payload={"FNumber": record.source_id, "FName": "华盛科技(北京)股份有限公司"},
    )
    merge = StewardDecision.objects.get(reason="dup")
    golden_record_unmerge(decision=merge, steward=steward, reason="wrong")
    b.refresh_from_db()
    assert b.legal_name == "华盛科技(北京)股份有限公司"
    assert golden_of(record).pk == b.pk


def test_unmerge_checks_the_version_the_steward_saw(steward, three_customers):
    a, b, _ = three_customers
    merged = golden_record_merge(
        survivor=a, absorbed=[b], steward=steward, reason="dup"
    )
    merge = StewardDecision.objects.get(reason="dup")
    with pytest.raises(ConflictError):
        golden_record_unmerge(
            decision=merge,
            steward=steward,
            reason="x",
            expected_version=merged.version - 1,
        )
    assert GoldenRecord.objects.get(pk=b.pk).status == GoldenRecord.Status.MERGED


def test_only_a_steward_unmerges(steward, three_customers):
    a, b, _ = three_customers
    golden_record_merge(survivor=a, absorbed=[b], steward=steward, reason="dup")
    merge = StewardDecision.objects.get(reason="dup")
    with pytest.raises(PermissionDenied):
        golden_record_unmerge(decision=merge, steward=make_viewer(), reason="x")


def test_only_a_merge_is_undone(steward):
    decision = decision_record_not_a_match(
        records=[make_record(), make_record()], steward=steward, reason="x"
    )
    with pytest.raises(UnmergeError):
        golden_record_unmerge(decision=decision, steward=steward, reason="x")
