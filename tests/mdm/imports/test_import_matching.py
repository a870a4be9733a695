"""What an import does after loading: the golden records of records it
changed are recomputed, and records without a golden record are placed one
by one when they are few, by a batch run when they are many or when no
batch run has trained a model on this data yet
(mdm/services/import_matching.py)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from fixtures.chinese_b2b import generate
from mdm.models import (
    CrossReference,
    GoldenRecord,
    ImportJob,
    MatchRun,
    OutboxEvent,
    ReviewTask,
    SourceRecord,
    SourceSystem,
)
from mdm.services import import_matching
from mdm.services.golden_records import golden_record_create
from mdm.services.import_matching import BATCH, ONE_BY_ONE, matching_after_import
from mdm.services.imports import import_job_run
from mdm.services.match_models import match_config_default
from mdm.services.source_records import (
    source_record_mark_deleted,
    source_record_upsert_many,
)
from tests.builders import make_source_record
from tests.mdm.api.test_ingest_api import in_force_with_thresholds
from tests.mdm.imports.test_import_service import HEADER, run_import

pytestmark = pytest.mark.django_db

NEW_COMPANY = ["L-NEW", "乌鲁木齐天山雪莲乳业有限公司", "0991-7654321", "", "", ""]


def csv(rows) -> bytes:
    lines = [",".join(HEADER)] + [",".join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def placed_population(companies: int) -> list[dict]:
    """ERP records of distinct generated companies, each in a golden record
    of its own as earlier matching left them; their payloads."""
    seen, items = set(), []
    for spec in generate(companies=companies, seed=7).records:
        if spec.system == "erp" and spec.entity_id not in seen:
            seen.add(spec.entity_id)
            items.append((spec.source_id, spec.payload))
    source_record_upsert_many(system=SourceSystem.objects.get(code="erp"), items=items)
    for record in SourceRecord.objects.all():
        golden_record_create(members=[record])
    return [payload for _key, payload in items]


def model_in_force() -> None:
    """A model trained by a batch run over this data (here: the shipped one)."""
    MatchRun.objects.create(
        status=MatchRun.Status.DONE,
        config=match_config_default().to_dict(),
        finished_at=timezone.now(),
    )


def golden_pk(source_id: str) -> int:
    return CrossReference.objects.get(source_record__source_id=source_id).golden_id


def unplaced() -> int:
    return SourceRecord.objects.filter(is_active=True, xref__isnull=True).count()


def test_a_few_records_are_placed_one_by_one_without_a_batch_run():
    population = placed_population(150)
    model_in_force()
    known = next(p for p in population if p["FTaxRegisterCode"] and p["FTel"])
    rows = [
        ["L-1", known["FName"], known["FTel"], known["FTaxRegisterCode"], "", ""],
        NEW_COMPANY,
    ]
    runs = MatchRun.objects.count()
    job = run_import(csv(rows), "新客户.csv")
    assert job.status == "done", job.error
    assert MatchRun.objects.count() == runs  # no batch run, no new model
    assert golden_pk("L-1") == golden_pk(known["FNumber"])
    link = CrossReference.objects.get(source_record__source_id="L-1")
    assert link.method == CrossReference.Method.AUTO_MATCH
    assert CrossReference.objects.filter(golden_id=golden_pk("L-NEW")).count() == 1
    assert unplaced() == 0


def test_a_doubtful_record_gets_its_own_golden_record_and_a_review_task():
    placed_population(150)
    golden_record_create(
        members=[make_source_record("erp", "CUST-1", FTel="010-65521234")]
    )
    in_force_with_thresholds(auto_merge=0.999, review=0.001)
    run_import(csv([["L-1", "华盛科技", "", "", "", ""]]), "新客户.csv")
    tasks = [
        {task.left.source_id, task.right.source_id}
        for task in ReviewTask.objects.filter(status="open").order_by("-score")
    ]
    assert tasks[0] == {"CUST-1", "L-1"}
    assert all("L-1" in pair for pair in tasks)
    assert golden_pk("L-1") != golden_pk("CUST-1")


def test_many_records_start_a_batch_run():
    placed_population(20)
    model_in_force()
    rows = [NEW_COMPANY, ["L-2", "拉萨高原之宝饮品有限公司", "", "", "", ""]]
    runs = MatchRun.objects.count()
    run_import(csv(rows), "新客户.csv")  # 2 of ~22 active records: over 5 %
    assert MatchRun.objects.count() == runs + 1
    assert unplaced() == 0


def test_before_any_batch_run_a_small_import_starts_one():
    placed_population(150)
    runs = MatchRun.objects.count()
    run_import(csv([NEW_COMPANY]), "新客户.csv")
    assert MatchRun.objects.count() == runs + 1
    assert unplaced() == 0


def test_records_left_without_a_golden_record_are_placed_by_the_next_import():
    placed_population(150)
    model_in_force()
    run_import(csv([NEW_COMPANY]), "一月.csv", run_matching=False)
    assert unplaced() == 1
    run_import(csv([["L-2", "拉萨高原之宝饮品有限公司", "", "", "", ""]]), "二月.csv")
    assert unplaced() == 0
    # and nothing is left to do the next time
    assert matching_after_import().path == ""


def test_the_job_tells_what_matching_did():
    placed_population(150)
    model_in_force()
    job = run_import(csv([NEW_COMPANY]), "新客户.csv")
    assert job.matching == {
        "path": ONE_BY_ONE,
        "records": 1,
        "placed": 1,
        "outcomes": {"new": 1},
    }
    rows = [
        [f"L-{i}", f"{city}天成{i}号实业有限公司", "", "", "", ""]
        for i, city in enumerate("东南西北中上下左右前后内外")
    ]
    job = run_import(csv(rows), "更多客户.csv")
    assert job.matching["path"] == BATCH
    assert job.matching["records"] == job.matching["placed"] == len(rows)
    assert job.matching["outcomes"]["golden_created"] == len(rows)


def test_progress_is_reported_as_records_are_placed(monkeypatch):
    monkeypatch.setattr(import_matching, "REPORT_EVERY", 2)
    placed_population(150)
    model_in_force()
    system = SourceSystem.objects.get(code="legacy")
    source_record_upsert_many(
        system=system,
        items=[(f"L-{i}", {"客户名称": f"{city}天成{i}号实业有限公司"})
               for i, city in enumerate("东南西北")],
    )  # fmt: skip
    seen = []
    done = matching_after_import(report=seen.append)
    assert [(s.path, s.placed) for s in seen] == [(ONE_BY_ONE, p) for p in (0, 2, 4)]
    assert done == seen[-1]
    assert sum(done.outcomes.values()) == 4


def test_a_corrected_file_updates_the_golden_record_and_broadcasts_it():
    rows = [["L-1", "北京华盛科技有限公司", "010-65521234", "", "", ""]]
    run_import(csv(rows), "客户.csv")
    golden = GoldenRecord.objects.get(pk=golden_pk("L-1"))
    assert golden.phones == ["+861065521234"]
    events = OutboxEvent.objects.filter(golden_id=golden.golden_id).count()
    rows[0][2] = "010-88889999"
    job = run_import(csv(rows), "客户.csv")
    assert job.updated_count == 1
    golden.refresh_from_db()
    assert golden.phones == ["+861088889999"]
    assert golden.version == 2
    assert golden.history.first().history_change_reason == (
        "updated by the import of 客户.csv"
    )
    assert OutboxEvent.objects.filter(golden_id=golden.golden_id).count() == events + 1
    run_import(csv(rows), "客户.csv")  # unchanged: nothing recomputed
    golden.refresh_from_db()
    assert golden.version == 2


def test_a_record_deleted_in_its_source_leaves_the_golden_values():
    erp = make_source_record("erp", "CUST-1", FTel="010-65521234")
    crm = make_source_record(
        "crm", "001A", Id="001A", Name="北京华盛科技有限公司", Phone="010-88889999"
    )
    golden = golden_record_create(members=[erp, crm])
    assert set(golden.phones) == {"+861065521234", "+861088889999"}
    source_record_mark_deleted(system=crm.source_system, source_id=" 001A ")
    golden.refresh_from_db()
    assert golden.phones == ["+861065521234"]
    assert golden.history.first().history_change_reason == "crm:001A deleted"
    # deleting it again changes nothing more
    version = golden.version
    source_record_mark_deleted(system=crm.source_system, source_id="001A")
    golden.refresh_from_db()
    assert golden.version == version


def test_the_progress_page_and_the_command_tell_what_matching_did(
    steward_client, tmp_path, capsys
):
    placed_population(150)
    model_in_force()
    job = run_import(csv([NEW_COMPANY]), "新客户.csv")
    page = steward_client.get(reverse("import_progress", args=[job.pk]))
    text = " ".join(page.content.decode().split())
    assert "匹配：1 条新记录中已有 1 条与现有黄金记录比对并归位。" in text
    assert "新建黄金记录: 1" in text
    job.matching = {"path": BATCH, "records": 40, "placed": 0, "outcomes": {}}
    job.save()
    page = steward_client.get(reverse("import_progress", args=[job.pk]))
    assert "正在对全部记录进行批量匹配，以归位 40 条新记录" in page.content.decode()
    path = tmp_path / "二月.csv"
    path.write_bytes(csv([["L-2", "拉萨高原之宝饮品有限公司", "", "", "", ""]]))
    out = StringIO()
    call_command("import_customers", str(path), "--source", "legacy", stdout=out)
    assert (
        "Matched 1 records one by one: 0 joined an existing golden record, "
        "0 sent for review, 1 new." in out.getvalue()
    )
    assert "match, one by one: 100%" in capsys.readouterr().err


def test_a_matching_failure_fails_the_job_and_a_rerun_places_the_records(
    monkeypatch,
):
    placed_population(150)
    model_in_force()

    def broken(**kwargs):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(import_matching, "source_record_place", broken)
    with pytest.raises(RuntimeError):
        run_import(csv([NEW_COMPANY]), "新客户.csv")
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert "The rows are loaded, but matching failed" in job.error
    assert unplaced() == 1
    monkeypatch.undo()
    import_job_run(job=job)
    job.refresh_from_db()
    assert (job.status, job.unchanged_count) == (ImportJob.Status.DONE, 1)
    assert unplaced() == 0
