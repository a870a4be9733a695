"""The bulk load path at scale: idempotence, history, bad rows, crashes
(RELIABILITY C5-C7 at CI size), and parity with the single-record writes."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mdm.importing import ImportFileError
from mdm.mapping_presets import payload_mapper
from mdm.models import ImportJob, SourceRecord, SourceSystem
from mdm.services import imports
from mdm.services.imports import (
    _rules,
    import_job_confirm,
    import_job_create,
    import_job_run,
)
from mdm.services.source_records import (
    _filled_values,
    _mapped,
    payload_parse,
    source_record_upsert,
    source_record_upsert_many,
    source_records_prefill,
)

pytestmark = pytest.mark.django_db

HEADER = "客户编号,客户名称,联系电话,税号,地址,录入日期"
ROWS = 10_000


def row(i: int, phone: str = "") -> str:
    phone = phone or f"138{i:08d}"
    address = f"北京市朝阳区建国路{i}号"
    return f"L-{i},华盛{i}号科技有限公司,{phone},,{address},2021/3/{i % 28 + 1}"


def csv(lines: list[str]) -> bytes:
    return ("\r\n".join([HEADER, *lines]) + "\r\n").encode()


def run(content: bytes, progress=None, **options) -> ImportJob:
    system = SourceSystem.objects.get(code="legacy")
    job = import_job_create(
        system=system, content=content, filename="客户.csv", run_matching=False,
        **options,
    )  # fmt: skip
    import_job_confirm(job=job, mapping=job.mapping)
    return import_job_run(job=job, progress=progress)


def counts(job: ImportJob) -> tuple[int, int, int, int]:
    return job.created_count, job.updated_count, job.unchanged_count, job.failed_count


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 100)


def test_reimports_change_nothing_and_edits_update_only_their_rows(small_chunks):
    # RELIABILITY C5 and C6 at their sizes: 10,000 rows, 100 of them edited.
    lines = [row(i) for i in range(ROWS)]
    assert counts(run(csv(lines))) == (ROWS, 0, 0, 0)
    assert SourceRecord.history.filter(history_type="+").count() == ROWS
    for _ in range(2):
        assert counts(run(csv(lines))) == (0, 0, ROWS, 0)
    edited = [
        row(i, "010-6552 1234") if i % 100 == 0 else lines[i] for i in range(ROWS)
    ]
    assert counts(run(csv(edited))) == (0, 100, ROWS - 100, 0)
    assert SourceRecord.objects.count() == ROWS
    assert SourceRecord.history.filter(history_type="~").count() == 100
    changed = SourceRecord.objects.get(source_id="L-100")
    assert changed.attributes["phones"] == ["010-6552 1234"]
    assert changed.standardised["phones"] == ["+861065521234"]


def test_bad_rows_are_reported_with_their_line_and_a_crash_resumes_exactly(
    small_chunks,
):
    # RELIABILITY C7: 37 bad rows of 10,000, the worker killed at 50 %.
    bad = set(range(5, ROWS, 271))
    assert len(bad) == 37
    lines = [
        f"L-{i},,,,," if i in bad else row(i) for i in range(ROWS)
    ]  # fmt: skip

    def crash_halfway(done: int, total: int) -> None:
        if done >= ROWS // 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        run(csv(lines), progress=crash_halfway)
    assert 0 < SourceRecord.objects.count() < ROWS - 37
    job = ImportJob.objects.get()
    rerun = import_job_run(job=job)
    assert (rerun.status, rerun.created_count + rerun.unchanged_count) == (
        "done",
        ROWS - 37,
    )
    assert rerun.failed_count == 37
    assert SourceRecord.objects.count() == ROWS - 37
    assert SourceRecord.history.filter(history_type="+").count() == ROWS - 37
    reported = set(rerun.row_errors.values_list("row", "column", "code"))
    # Line 1 is the header, so data row i sits on line i + 2.
    assert reported == {(i + 2, "客户名称", "missing_name") for i in bad}
    assert (rerun.processed_rows, rerun.total_rows) == (ROWS, ROWS)


def test_all_or_nothing_reports_every_bad_row_and_writes_nothing(small_chunks):
    lines = [row(i) for i in range(300)]
    lines[20] = "L-20,,,,,"
    lines[250] = "L-250,华盛250号科技有限公司,,,,2021-02-30"
    job = run(csv(lines), mode=ImportJob.Mode.ALL_OR_NOTHING)
    assert (job.status, job.failed_count, job.processed_rows) == ("failed", 2, 300)
    assert "2 of 300 rows" in job.error
    assert set(job.row_errors.values_list("row", "code")) == {
        (22, "missing_name"),
        (252, "bad_date"),
    }
    assert SourceRecord.objects.count() == 0
    assert SourceRecord.history.count() == 0


def test_all_or_nothing_reports_refused_ids_before_and_after_the_first_bad_row(
    small_chunks,
):
    lines = [row(i) for i in range(500)]
    lines[50] = "X" * 300 + ",华盛科技有限公司,,,,"  # read before row 120
    lines[120] = "L-120,,,,,"
    lines[450] = "Y" * 300 + ",华盛科技有限公司,,,,"
    job = run(csv(lines), mode=ImportJob.Mode.ALL_OR_NOTHING)
    assert set(job.row_errors.values_list("row", "code")) == {
        (52, "rejected"),
        (122, "missing_name"),
        (452, "rejected"),
    }
    assert (job.failed_count, SourceRecord.objects.count()) == (3, 0)


def test_a_key_repeated_within_a_chunk_keeps_file_order_and_a_bad_key_is_rejected():
    lines = [
        row(1),
        row(2),
        row(1, "010-6552 1234"),
        "X" * 300 + ",华盛科技有限公司,,,,",
    ]
    job = run(csv(lines))
    assert counts(job) == (2, 1, 0, 1)
    assert job.row_errors.get().code == "rejected"
    record = SourceRecord.objects.get(source_id="L-1")
    assert record.attributes["phones"] == ["010-6552 1234"]
    assert list(record.history.values_list("history_type", flat=True)) == ["~", "+"]


def test_a_key_in_the_next_chunk_is_judged_on_what_the_chunk_before_wrote(
    small_chunks,
):
    # The next chunk's upsert begins before this one is written (its rows
    # are mapped meanwhile): what it read then is stale for L-5 and L-1.
    lines = [row(i) for i in range(200)]
    assert counts(run(csv(lines))) == (200, 0, 0, 0)
    edited = [
        *[row(i, "010-6552 1234") if i == 5 else lines[i] for i in range(100)],
        lines[5],  # back to the first import's values, read as unchanged
        row(1, "021-5888 0000"),  # read as changed from the first import's
        *lines[102:200],
    ]
    job = run(csv(edited))
    assert counts(job) == (0, 3, 197, 0)
    back = SourceRecord.objects.get(source_id="L-5")
    assert back.attributes["phones"] == ["13800000005"]
    assert back.standardised["phones"] == ["+8613800000005"]
    assert list(back.history.values_list("history_type", flat=True)) == [
        "~",
        "~",
        "+",
    ]
    assert SourceRecord.objects.get(source_id="L-1").standardised["phones"] == [
        "+862158880000"
    ]


def test_all_or_nothing_maps_no_chunk_once_a_bad_row_is_read(small_chunks, monkeypatch):
    begun = []
    prefill = imports.source_records_prefill

    def counted(**kwargs):
        begun.append(len(kwargs["items"]))
        return prefill(**kwargs)

    monkeypatch.setattr(imports, "source_records_prefill", counted)
    lines = [row(i) for i in range(500)]
    lines[120] = "L-120,,,,,"
    job = run(csv(lines), mode=ImportJob.Mode.ALL_OR_NOTHING)
    assert (job.status, job.failed_count) == ("failed", 1)
    # Only the first chunk, begun before the second (with row 120) was read.
    assert begun == [100]
    assert SourceRecord.objects.count() == 0


def test_progress_is_reported_per_chunk_and_ends_at_the_row_count(small_chunks):
    seen: list[tuple[int, int]] = []
    run(csv([row(i) for i in range(250)]), progress=lambda *p: seen.append(p))
    assert [done for done, _ in seen] == [100, 200, 250, 250]
    assert all(done <= total for done, total in seen)
    assert seen[-1] == (250, 250)


def test_a_chunk_costs_a_few_queries_not_one_per_row():
    system = SourceSystem.objects.get(code="legacy")
    items = [(f"L-{i}", {"客户名称": f"华盛{i}号科技有限公司"}) for i in range(500)]
    with CaptureQueriesContext(connection) as queries:
        source_record_upsert_many(system=system, items=items)
    assert len(queries) < 10


def test_an_import_writes_its_chunks_in_bulk_not_row_by_row(small_chunks):
    lines = [row(i) for i in range(500)]
    with CaptureQueriesContext(connection) as queries:
        assert counts(run(csv(lines))) == (500, 0, 0, 0)
    assert len(queries) < 150  # ~20 a chunk of 100 rows, fixed costs aside
    with CaptureQueriesContext(connection) as queries:
        assert counts(run(csv(lines))) == (0, 0, 500, 0)
    assert len(queries) < 100


def test_a_key_another_writer_inserts_after_the_prefill_read_is_updated_in_bulk():
    system = SourceSystem.objects.get(code="legacy")
    payload = {"客户名称": "华盛1号科技有限公司", "联系电话": "13800000001"}
    items = [("L-1", payload), ("L-2", {"客户名称": "华盛2号科技有限公司"})]
    upserts = source_records_prefill(system=system, items=items)
    source_record_upsert(system=system, source_id="L-1", payload=payload)
    other = {**payload, "联系电话": "010-6552 1234"}
    source_record_upsert(system=system, source_id="L-2", payload=other)
    with pytest.raises(IntegrityError):  # the prefill read had neither
        upserts.write(stale=set())
    assert upserts.write() == ["unchanged", "updated"]
    assert SourceRecord.objects.get(source_id="L-2").attributes["phones"] == []


def test_the_bulk_path_writes_what_the_single_record_path_writes():
    system = SourceSystem.objects.get(code="legacy")
    payload = {
        "客户名称": "北京华盛科技有限公司",
        "联系电话": "13800138000",
        "税号": "91110108MA01KPGK0L",
        "地址": "北京市朝阳区建国路88号",
        "录入日期": "2021-03-05",
    }
    changed = {**payload, "联系电话": "010-6552 1234"}
    started = timezone.now()
    source_record_upsert(system=system, source_id="one", payload=payload)
    source_record_upsert(system=system, source_id="one", payload=changed)
    source_record_upsert_many(system=system, items=[("many", payload)])
    source_record_upsert_many(system=system, items=[("many", changed)])

    def snapshot(source_id: str) -> list[dict]:
        skip = {"id", "source_id", "received_at", "updated_at", "history_id"}
        skip |= {"history_date"}
        record = SourceRecord.objects.get(source_id=source_id)
        rows = [
            {k: v for k, v in vars(h).items() if k not in skip and k[0] != "_"}
            for h in record.history.order_by("history_id")
        ]
        current = {
            k: v for k, v in vars(record).items() if k not in skip and k[0] != "_"
        }
        return [current, *rows]

    assert snapshot("many") == snapshot("one")
    assert [h["history_type"] for h in snapshot("many")[1:]] == ["+", "~"]
    dates = SourceRecord.history.filter(source_id="many").values_list(
        "history_date", flat=True
    )
    assert all(started <= date <= timezone.now() for date in dates)


def test_the_import_caps_come_from_settings(settings):
    settings.IMPORT_MAX_ROWS = 3
    with pytest.raises(ImportFileError, match="more than 3 rows"):
        run(csv([row(i) for i in range(5)]))
    settings.IMPORT_MAX_ROWS = 6
    assert run(csv([row(i) for i in range(5)])).created_count == 5


def test_a_fill_pool_gives_the_rows_the_single_process_path_gives(
    settings, monkeypatch
):
    settings.IMPORT_WORKERS = 1
    maps = []

    class Pool(imports.ProcessPoolExecutor):
        def map(self, *args, **kwargs):
            maps.append(args)
            return super().map(*args, **kwargs)

    monkeypatch.setattr(imports, "ProcessPoolExecutor", Pool)
    lines = [row(i, "010-6552 1234 / 13800138000" if i % 3 else "") for i in range(900)]
    assert counts(run(csv(lines))) == (900, 0, 0, 0)
    assert maps  # the rows went through the pool
    system = SourceSystem.objects.get(code="legacy")
    mapper = payload_mapper(_rules(ImportJob.objects.get()) or system.mapping_rules)
    for record in SourceRecord.objects.all():
        data, _ = payload_parse(record.raw_payload)
        expected = _filled_values(_mapped(mapper, data))
        assert record.attributes == expected["attributes"]
        assert record.standardised == expected["standardised"]
        assert record.uscc_valid == expected["uscc_valid"]
