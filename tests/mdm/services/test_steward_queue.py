import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mdm.models import CrossReference, GoldenRecord, ReviewTask, StewardDecision
from mdm.selectors.decisions import not_a_match_pairs
from mdm.selectors.review_queue import review_task_sides
from mdm.services.errors import DomainError
from mdm.services.golden_records import (
    ConflictError,
    golden_record_link,
    golden_record_merge_preview,
    golden_record_pin_clear,
    golden_record_recompute,
)
from mdm.services.review_queue import review_task_open
from mdm.services.source_records import source_record_upsert
from mdm.services.steward_queue import (
    BulkItem,
    review_task_assign,
    review_task_claim,
    review_task_defer,
    review_task_merge,
    review_task_not_a_match,
    review_task_release,
    review_task_reopen,
    review_task_skip,
    review_tasks_bulk_approve,
)
from tests.builders import make_user
from tests.mdm.ui.helpers import (
    golden_of,
    make_record,
    make_steward,
    make_task,
    make_viewer,
    versions_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def steward():
    return make_steward()


def merge(task, steward, **kwargs):
    options = {"reason": "", "keep": "left", "overrides": {}}
    options.update(kwargs)
    options.setdefault("versions", versions_of(task))
    return review_task_merge(task=task, steward=steward, **options)


def test_claim_makes_the_steward_the_assignee(steward):
    task = review_task_claim(task=make_task(), steward=steward)
    assert ReviewTask.objects.get(pk=task.pk).assignee == steward
    assert task.history.first().history_change_reason == "claimed by alice"


def test_a_task_claimed_by_another_steward_cannot_be_decided(steward):
    task = review_task_claim(task=make_task(), steward=make_steward("bob"))
    with pytest.raises(ConflictError, match="bob"):
        merge(task, steward)
    with pytest.raises(ConflictError):
        review_task_claim(task=task, steward=steward)
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.OPEN


def test_an_admin_may_decide_a_task_someone_else_claimed(steward):
    task = review_task_claim(task=make_task(), steward=steward)
    admin = make_user("root", is_superuser=True)
    review_task_skip(task=task, steward=admin)
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.SKIPPED


def test_release_gives_the_task_back_to_the_queue(steward):
    task = review_task_claim(task=make_task(), steward=steward)
    review_task_release(task=task, steward=steward)
    assert ReviewTask.objects.get(pk=task.pk).assignee is None


def test_a_task_is_assigned_only_to_a_steward(steward):
    task = make_task()
    bob = make_steward("bob")
    review_task_assign(task=task, assignee=bob, steward=steward)
    assert ReviewTask.objects.get(pk=task.pk).assignee == bob
    with pytest.raises(DomainError):
        review_task_assign(task=task, assignee=make_viewer(), steward=steward)


def test_merge_moves_the_records_and_closes_the_task(steward):
    task = make_task()
    left_golden, right_golden = golden_of(task.left), golden_of(task.right)
    merged = merge(task, steward, reason="same address")
    task.refresh_from_db()
    assert merged.pk == left_golden.pk
    assert CrossReference.objects.filter(golden=left_golden).count() == 2
    assert GoldenRecord.objects.get(pk=right_golden.pk).merged_into_id == merged.pk
    assert (task.status, task.assignee) == (ReviewTask.Status.MERGED, steward)
    assert task.resolved_at is not None
    decision = StewardDecision.objects.get(kind=StewardDecision.Kind.MERGE)
    assert decision.decided_by == steward
    assert decision.reason == f"same address (review task {task.pk}, score 0.80)"


def test_merge_locks_each_golden_record_once_without_a_savepoint_of_its_own(steward):
    # The cluster's other stewards wait while a merge holds its golden
    # records (C8): the task's lock serves the merge, no second lock or
    # savepoint inside it.
    task = make_task()
    with CaptureQueriesContext(connection) as queries:
        merge(task, steward)
    sqls = [q["sql"] for q in queries.captured_queries]
    golden_locks = [
        sql for sql in sqls if "FOR UPDATE" in sql and 'FROM "mdm_goldenrecord"' in sql
    ]
    assert len(golden_locks) == int(connection.features.has_select_for_update)
    # Inside the test's transaction the audit wrapper's block and the
    # service's own are savepoints; nothing below them.
    assert sum(sql.startswith("SAVEPOINT") for sql in sqls) == 2


def test_merge_keeps_the_golden_id_of_the_chosen_side(steward):
    task = make_task()
    right_golden = golden_of(task.right)
    assert merge(task, steward, keep="right").pk == right_golden.pk


def test_a_chosen_value_is_pinned_and_survives_recomputation(steward):
    task = make_task()
    merged = merge(task, steward, overrides={"legal_name": "华盛科技(北京)有限公司"})
    assert merged.legal_name == "华盛科技(北京)有限公司"
    assert merged.lineage["legal_name"]["steward"] == "alice"
    # The ERP is the most trusted source of names, yet the pin wins.
    source_record_upsert(
        system=task.left.source_system,
        source_id=task.left.source_id,
        payload={"FNumber": task.left.source_id, "FName": "北京华盛科技股份有限公司"},
    )
    merged = golden_record_recompute(golden=merged, reason="source changed")
    assert merged.legal_name == "华盛科技(北京)有限公司"
    cleared = golden_record_pin_clear(
        golden=merged,
        attribute="legal_name",
        steward=steward,
        expected_version=merged.version,
    )
    assert cleared.legal_name == "北京华盛科技股份有限公司"
    assert "steward" not in cleared.lineage["legal_name"]


def test_a_stale_version_is_refused_and_nothing_is_written(steward):
    task = make_task()
    versions = versions_of(task)
    golden_record_recompute(golden=golden_of(task.left), reason="meanwhile")
    with pytest.raises(ConflictError):
        merge(task, steward, versions=versions)
    with pytest.raises(ConflictError):
        review_task_not_a_match(
            task=task, steward=steward, reason="", versions=versions
        )
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.OPEN
    assert not StewardDecision.objects.exists()
    assert GoldenRecord.objects.filter(status=GoldenRecord.Status.ACTIVE).count() == 2


def test_merge_makes_tasks_inside_the_new_golden_record_obsolete(steward):
    task = make_task()
    third = make_record(FName="华盛科技有限公司")
    golden_record_link(record=third, golden=golden_of(task.right), method="steward")
    other = review_task_open(a=task.left, b=third, score=0.7, evidence=[])
    merge(task, steward)
    assert ReviewTask.objects.get(pk=other.pk).status == ReviewTask.Status.OBSOLETE


def test_not_a_match_is_remembered_and_closes_the_task(steward):
    task = make_task()
    decision = review_task_not_a_match(
        task=task, steward=steward, reason="other city", versions=versions_of(task)
    )
    assert (task.left_id, task.right_id) in not_a_match_pairs()
    assert decision.kind == StewardDecision.Kind.NOT_A_MATCH
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.NOT_A_MATCH


def test_skip_and_defer_record_who_and_why(steward):
    skipped, deferred = make_task(), make_task()
    review_task_skip(task=skipped, steward=steward)
    review_task_defer(task=deferred, steward=steward, comment="ask sales")
    row = ReviewTask.objects.get(pk=deferred.pk)
    assert (row.status, row.comment) == (ReviewTask.Status.DEFERRED, "ask sales")
    assert row.history.first().history_user == steward
    assert ReviewTask.objects.get(pk=skipped.pk).status == ReviewTask.Status.SKIPPED


def test_a_deferral_needs_a_comment(steward):
    with pytest.raises(DomainError):
        review_task_defer(task=make_task(), steward=steward, comment="  ")


def test_a_decided_task_cannot_be_decided_again(steward):
    task = make_task()
    review_task_skip(task=task, steward=steward)
    with pytest.raises(ConflictError):
        merge(task, steward)


def test_reopen_puts_a_skipped_task_back_in_the_queue(steward):
    task = make_task()
    review_task_skip(task=task, steward=steward)
    review_task_reopen(task=task, steward=steward)
    row = ReviewTask.objects.get(pk=task.pk)
    assert (row.status, row.resolved_at, row.assignee) == ("open", None, None)


def test_a_viewer_cannot_decide():
    task = make_task()
    viewer = make_viewer()
    with pytest.raises(PermissionDenied):
        merge(task, viewer)
    with pytest.raises(PermissionDenied):
        review_task_claim(task=task, steward=viewer)


def test_the_preview_is_what_the_merge_writes(steward):
    task = make_task(
        {"FName": "北京华盛科技有限公司", "FTel": "010-65521234"},
        {"FName": "华盛科技(北京)有限公司", "FTel": "138 0013 8000"},
    )
    left, right = review_task_sides(task)
    values, lineage = golden_record_merge_preview(
        survivor=left.golden,
        absorbed=[right.golden],
        overrides={"legal_name": "华盛科技(北京)有限公司"},
        steward=steward,
    )
    merged = merge(task, steward, overrides={"legal_name": "华盛科技(北京)有限公司"})
    assert {name: getattr(merged, name) for name in values} == values
    assert merged.lineage == lineage


def test_bulk_approval_merges_what_qualifies_and_leaves_the_rest(steward):
    good = make_task(score=0.97)
    low = make_task(score=0.9)
    conflict = make_task(
        {"FName": "甲公司", "FTaxRegisterCode": "91110108MA01KPGK0L"},
        {"FName": "甲公司", "FTaxRegisterCode": "91310115MA1H7GQX0X"},
        score=0.99,
    )
    stale = make_task(score=0.96)
    stale_versions = versions_of(stale)
    golden_record_recompute(golden=golden_of(stale.left), reason="meanwhile")
    outcome = review_tasks_bulk_approve(
        items=[
            BulkItem(good.pk, versions_of(good)),
            BulkItem(low.pk, versions_of(low)),
            BulkItem(conflict.pk, versions_of(conflict)),
            BulkItem(stale.pk, stale_versions),
        ],
        min_score=0.95,
        steward=steward,
        reason="bulk",
    )
    assert conflict.has_uscc_conflict
    assert outcome.merged == [good.pk]
    assert {task_id for task_id, _ in outcome.left_alone} == {
        low.pk,
        conflict.pk,
        stale.pk,
    }
    statuses = dict(ReviewTask.objects.values_list("pk", "status"))
    assert statuses == {
        good.pk: "merged",
        low.pk: "open",
        conflict.pk: "open",
        stale.pk: "open",
    }


def test_a_long_merge_reason_is_kept_whole_in_history(steward):
    task = make_task()
    reason = "同一家公司，财务确认过税号和开户行。" * 25  # 475 characters
    golden = merge(task, steward, reason=reason)
    absorbed = GoldenRecord.objects.get(merged_into=golden)
    assert reason in absorbed.history.first().history_change_reason
