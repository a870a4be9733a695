"""A standing split keeps its groups apart when matching runs again; an undone
one does not."""

import pytest

from mdm.models import GoldenRecord, ReviewTask
from mdm.selectors.decisions import not_a_match_pairs, not_a_match_partners
from mdm.services import batch_matching
from mdm.services.batch_matching import matching_run_batch
from mdm.services.split import golden_record_split, golden_record_split_undo
from mdm.services.steward_queue import review_task_merge
from mdm.services.unmerge import golden_record_unmerge
from tests.builders import make_source_record
from tests.mdm.ui.helpers import golden_of, make_steward

pytestmark = pytest.mark.django_db


@pytest.fixture
def steward():
    return make_steward()


@pytest.fixture
def imported():
    """Records as an import leaves them after batch matching: 华盛 ×4 merged
    automatically, 华盛科技 (another phone) alone with review tasks, 明远 ×2,
    宏达 alone."""
    records = {
        "E1": make_source_record(
            "erp",
            "E1",
            FName="北京华盛科技有限公司",
            FTel="010-65521234",
            FTaxRegisterCode="91110108MA01KPGK0L",
        ),
        "C1": make_source_record(
            "crm", "C1", Name="北京华盛科技有限公司", Phone="010-65521234"
        ),
        "E2": make_source_record(
            "erp", "E2", FName="北京华盛科技有限公司", FTel="010-65521234"
        ),
        "C2": make_source_record(
            "crm", "C2", Name="华盛科技(北京)有限公司", Phone="138 0013 8000"
        ),
        "E5": make_source_record("erp", "E5", FName="华盛科技", FTel="021-55551111"),
        "E3": make_source_record(
            "erp", "E3", FName="上海明远贸易有限公司", FTel="021-55550000"
        ),
        "C3": make_source_record(
            "crm", "C3", Name="上海明远贸易有限公司", Phone="021-55550000"
        ),
        "E4": make_source_record(
            "erp", "E4", FName="深圳宏达电子有限公司", FTel="0755-88886666"
        ),
    }
    matching_run_batch()
    return records


def split_off(golden, records, steward):
    golden.refresh_from_db()
    members = golden.xrefs.values_list("source_record_id", flat=True)
    return golden_record_split(
        golden=golden,
        groups={pk: 2 if pk in {r.pk for r in records} else 1 for pk in members},
        steward=steward,
        reason="not the same firm",
        expected_version=golden.version,
    )


def cross_tasks(group_a, group_b):
    pairs = {tuple(sorted((a.pk, b.pk))) for a in group_a for b in group_b}
    return [
        t
        for t in ReviewTask.objects.filter(status=ReviewTask.Status.OPEN)
        if (t.left_id, t.right_id) in pairs
    ]


def test_a_split_of_an_automatic_merge_is_remembered_as_not_a_match(imported, steward):
    r = imported
    golden = golden_of(r["E1"])
    assert golden_of(r["C2"]).pk == golden.pk  # the engine's merge
    decision = split_off(golden, [r["C2"]], steward)
    huasheng = [r["E1"], r["C1"], r["E2"]]
    assert {tuple(sorted((r["C2"].pk, x.pk))) for x in huasheng} <= not_a_match_pairs()
    assert (r["E1"].pk, r["C1"].pk) not in not_a_match_pairs()
    assert not_a_match_partners(r["C2"].pk) == {x.pk for x in huasheng}
    assert not_a_match_partners(r["E1"].pk) == {r["C2"].pk}
    matching_run_batch()
    assert golden_of(r["C2"]).golden_id == decision.details["created"][0]
    assert {golden_of(x).pk for x in huasheng} == {golden.pk}
    assert cross_tasks([r["C2"]], huasheng) == []


def test_a_split_off_record_is_not_proposed_for_review_again(
    imported, steward, monkeypatch
):
    r = imported
    golden = golden_of(r["E1"])
    others = [r["E1"], r["C1"], r["E2"], r["C2"]]
    task, *_rest = cross_tasks([r["E5"]], others)  # in the review band
    review_task_merge(
        task=task,
        steward=steward,
        reason="same firm?",
        keep="left" if task.left_id != r["E5"].pk else "right",
        overrides={},
        versions={g.golden_id: g.version for g in (golden, golden_of(r["E5"]))},
    )
    assert cross_tasks([r["E5"]], others) == []  # the merge closed them all
    split_off(golden, [r["E5"]], steward)
    matching_run_batch()
    assert cross_tasks([r["E5"]], others) == []
    # Without the split's constraints the same run proposes them again.
    monkeypatch.setattr(batch_matching, "not_a_match_pairs", set)
    matching_run_batch()
    assert cross_tasks([r["E5"]], others)


def test_an_undone_split_no_longer_keeps_its_groups_apart(imported, steward):
    r = imported
    golden = golden_of(r["E1"])
    decision = split_off(golden, [r["C2"]], steward)
    golden.refresh_from_db()
    undo = golden_record_split_undo(
        decision=decision, steward=steward, reason="x", expected_version=golden.version
    )
    assert not_a_match_pairs() == set()
    assert not_a_match_partners(r["C2"].pk) == set()
    golden_record_unmerge(decision=undo, steward=steward, reason="the split was right")
    assert not_a_match_partners(r["C2"].pk) == {r["E1"].pk, r["C1"].pk, r["E2"].pk}
    assert GoldenRecord.objects.get(
        golden_id=decision.details["created"][0]
    ).status == (GoldenRecord.Status.ACTIVE)
