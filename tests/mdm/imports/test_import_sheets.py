"""A workbook of several sheets: each sheet's rows keep keys of their own,
another sheet can be read before confirming, and several sheets can be
imported with one mapping, one after the other."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from mdm.models import ImportJob, ImportProfileUse, SourceRecord, SourceSystem
from mdm.selectors.imports import import_job_next_sheet_get, import_job_sheet_list
from mdm.services.erasure_files import import_files_scrub
from mdm.services.import_profiles import (
    import_job_confirm_with_profile,
    import_job_create_with_profile,
    import_job_sheet_choose_with_profile,
    import_profile_create,
)
from mdm.services.imports import (
    ImportRejected,
    import_job_confirm,
    import_job_run,
    import_job_sheets_fitting,
)
from tests.mdm.imports.test_import_blank_rows_continue import confirmation, uploaded
from tests.mdm.imports.test_import_service import run_import

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """The services' messages as the English pages show them."""
    with translation.override("en"):
        yield


EAST = [["上海甲机械有限公司", "13800000001"], ["杭州乙贸易有限公司", "13800000002"]]
SOUTH = [["广州丙电子有限公司", "13900000001"], ["深圳丁科技有限公司", "13900000002"]]
NOTES = [["填表说明"], ["带*的列必填"]]


def regions(*, south_title: bool = False) -> bytes:
    """华东 and 华南 list customers without an ID column (华南 under a title
    row, if asked); 说明 is a template's notes."""
    book = Workbook()
    east = book.active
    east.title = "华东"
    for row in [["客户名称", "手机"], *EAST]:
        east.append(row)
    south = book.create_sheet("华南")
    if south_title:
        south.append(["华南区客户名单"])
    for row in [["单位名称", "联系电话"], *SOUTH]:
        south.append(row)
    notes = book.create_sheet("说明")
    for row in NOTES:
        notes.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def same_columns(**changes: str) -> bytes:
    """`regions()` with 华南's headers as 华东's (or as `changes` say: cell ->
    text), and a rejected row at its end; and a hidden sheet of the same
    columns, 旧客户."""
    book = load_workbook(io.BytesIO(regions()))
    south = book["华南"]
    for cell, text in {"A1": "客户名称", "B1": "手机", **changes}.items():
        south[cell] = text
    south.append(["", "13900000003"])  # no name
    old = book.create_sheet("旧客户")
    old.sheet_state = "hidden"
    old.append(["客户名称", "手机"])
    old.append(["已注销的戊公司", "13700000001"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def by_key() -> dict[str, str]:
    return dict(SourceRecord.objects.values_list("source_id", "name"))


def legacy() -> SourceSystem:
    return SourceSystem.objects.get(code="legacy")


def create(content: bytes, **options) -> ImportJob:
    return import_job_create_with_profile(
        system=legacy(), content=content, filename="regions.xlsx", **options
    )


def test_sheets_imported_one_by_one_keep_each_others_customers():
    first = run_import(regions(), "regions.xlsx")
    second = run_import(regions(), "regions.xlsx", sheet="华南")
    assert (first.created_count, second.created_count) == (2, 2)
    assert second.updated_count == 0  # before: 2 updated, 华东's customers gone
    # The first sheet keeps the key a single-sheet file has.
    assert by_key() == {
        "regions#2": EAST[0][0],
        "regions#3": EAST[1][0],
        "regions/华南#2": SOUTH[0][0],
        "regions/华南#3": SOUTH[1][0],
    }
    again = run_import(regions(), "regions.xlsx", sheet="华南")
    assert (again.unchanged_count, again.created_count, again.updated_count) == (
        2,
        0,
        0,
    )


def test_the_job_knows_the_workbooks_sheets_and_a_csv_has_none():
    assert create(regions()).sheet_names == ["华东", "华南", "说明"]
    csv = "客户名称,手机\n上海甲机械有限公司,13800000001\n".encode()
    job = import_job_create_with_profile(system=legacy(), content=csv, filename="a.csv")
    assert (job.sheet, job.sheet_names) == ("", [])


def test_another_sheet_read_before_confirming_gets_its_own_mapping():
    job = create(regions(south_title=True))
    assert (job.sheet, job.header_row) == ("华东", 1)
    import_job_sheet_choose_with_profile(job=job, sheet="华南")
    job.refresh_from_db()
    assert (job.sheet, job.header_row) == ("华南", 2)
    assert job.mapping == {"单位名称": "legal_name", "联系电话": "phones"}
    import_job_confirm(job=job, mapping=job.mapping)
    import_job_run(job=job)
    assert sorted(by_key().values()) == sorted(name for name, _ in SOUTH)


def test_a_sheet_the_workbook_lacks_or_a_started_job_cannot_be_read():
    job = create(regions())
    with pytest.raises(ImportRejected, match="no sheet named “华北”"):
        import_job_sheet_choose_with_profile(job=job, sheet="华北")
    import_job_confirm(job=job, mapping=job.mapping)
    with pytest.raises(ImportRejected, match="already been started"):
        import_job_sheet_choose_with_profile(job=job, sheet="华南")
    job.refresh_from_db()
    assert job.sheet == "华东"


def test_a_profile_chosen_on_upload_maps_the_other_sheet_it_fits():
    # 华南's 联系电话 is its fax number, the source's profile says.
    profile = import_profile_create(
        system=legacy(),
        name="区域客户",
        mapping={
            "客户名称": "legal_name",
            "手机": "phones",
            "单位名称": "legal_name",
            "联系电话": None,
        },
    )
    job = create(regions(), profile=profile)
    assert ImportProfileUse.objects.get(job=job).how == ImportProfileUse.How.CHOSEN
    import_job_sheet_choose_with_profile(job=job, sheet="华南")
    job.refresh_from_db()
    assert job.mapping == {"单位名称": "legal_name", "联系电话": None}
    use = ImportProfileUse.objects.get(job=job)
    assert (use.profile, use.how) == (profile, ImportProfileUse.How.CHOSEN)
    assert sorted(use.missing_columns) == [
        "客户名称",
        "手机",
    ]  # PostgreSQL: jsonb order


def test_other_sheets_confirmed_with_the_first_run_after_it_with_its_mapping():
    job = create(same_columns())
    assert job.hidden_sheets == ["旧客户"]
    # A hidden sheet is imported only when ticked.
    assert import_job_sheets_fitting(job=job, mapping=job.mapping) == ["华南"]
    import_job_confirm_with_profile(job=job, mapping=job.mapping, other_sheets=["华南"])
    other = ImportJob.objects.get(part_of=job)
    assert (other.sheet, other.status, other.header_row) == ("华南", "queued", 1)
    assert other.mapping == job.mapping
    assert other.file.name == job.file.name  # one stored upload
    assert import_job_sheet_list(job=other) == [job, other]
    assert import_job_next_sheet_get(job=job) == other
    assert import_job_next_sheet_get(job=other) is None
    for each in (job, other):
        import_job_run(job=each)
    assert (other.created_count, other.failed_count) == (2, 1)
    assert len(by_key()) == 4


def test_a_sheet_without_the_name_column_stops_the_whole_confirmation():
    job = create(same_columns(A1="联系人"))
    with pytest.raises(ImportRejected, match="Sheet “华南” has no column"):
        import_job_confirm(job=job, mapping=job.mapping, other_sheets=["华南"])
    with pytest.raises(ImportRejected, match="Sheet “说明”: None of the saved"):
        import_job_confirm(job=job, mapping=job.mapping, other_sheets=["说明"])
    with pytest.raises(ImportRejected, match="no other sheet named “华东”"):
        import_job_confirm(job=job, mapping=job.mapping, other_sheets=["华东"])
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING
    assert not ImportJob.objects.filter(part_of=job).exists()


def test_the_page_reads_the_sheet_chosen(steward_client):
    job = uploaded(steward_client, regions(south_title=True), "regions.xlsx")
    response = steward_client.post(
        reverse("import_sheet", args=[job.pk]), {"sheet": "华南"}
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.sheet, job.header_row) == ("华南", 2)
    assert 'name="map::单位名称"' in page(steward_client, job)


def page(client, job: ImportJob, language="en") -> str:
    response = client.get(
        reverse("import_detail", args=[job.pk]), HTTP_ACCEPT_LANGUAGE=language
    )
    return response.content.decode()


def test_the_confirmation_page_offers_the_workbooks_other_sheets(steward_client):
    job = uploaded(steward_client, regions(), "regions.xlsx")
    text = page(steward_client, job)
    assert "This workbook has 3 sheets." in text
    assert '<option value="华南">华南</option>' in text
    assert 'name="other_sheets" value="华南"' in text
    assert 'name="other_sheets" value="华东"' not in text  # the one read
    assert "这个工作簿有 3 个工作表。" in page(steward_client, job, "zh-hans")


def test_a_single_sheet_offers_no_other(steward_client):
    book = Workbook()
    for row in [["客户名称", "手机"], *EAST]:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    text = page(steward_client, uploaded(steward_client, out.getvalue(), "a.xlsx"))
    assert "This workbook has" not in text
    assert 'name="other_sheets"' not in text


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sheets_confirmed_together_on_the_page_are_imported_and_listed(
    steward_client,
):
    job = uploaded(steward_client, same_columns(), "regions.xlsx")
    text = page(steward_client, job)
    assert '<option value="旧客户">旧客户 (hidden)</option>' in text
    assert "> 旧客户 (hidden)</label>" in text
    form = {**confirmation(job), "other_sheets": ["华南"]}
    response = steward_client.post(reverse("import_confirm", args=[job.pk]), form)
    assert response.status_code == 302
    other = ImportJob.objects.get(part_of=job)
    progress = progress_text(steward_client, job)
    assert "imported one after the other" in progress
    assert f'href="{reverse("import_detail", args=[other.pk])}"' in progress
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    other.refresh_from_db()
    assert (other.status, other.created_count) == ("done", 2)
    progress = progress_text(steward_client, other)
    assert "2 created, 0 updated, 1 rejected" in progress
    report = steward_client.get(reverse("import_errors", args=[other.pk]))
    assert report["Content-Disposition"] == (
        f"attachment; filename*=utf-8''import-{other.pk}-%E5%8D%8E%E5%8D%97-errors.xlsx"
    )
    assert "hx-trigger" not in progress  # all done: no more polling
    assert len(by_key()) == 4


def progress_text(client, job: ImportJob) -> str:
    response = client.get(
        reverse("import_progress", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    return response.content.decode()


def test_a_sheet_that_does_not_fit_is_named_on_the_page(steward_client):
    job = uploaded(steward_client, regions(), "regions.xlsx")
    form = {**confirmation(job), "other_sheets": ["说明"]}
    response = steward_client.post(
        reverse("import_confirm", args=[job.pk]), form, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "Sheet “说明”" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING


def test_reading_a_sheet_without_a_header_says_so_and_keeps_the_sheet_read(
    steward_client,
):
    book = load_workbook(io.BytesIO(regions()))
    book.create_sheet("空白")
    out = io.BytesIO()
    book.save(out)
    job = uploaded(steward_client, out.getvalue(), "regions.xlsx")
    text = sheet_read(steward_client, job, "空白")
    assert "No header row was found" in text
    job.refresh_from_db()
    assert (job.sheet, job.header_row) == ("华东", 1)
    assert 'name="map::客户名称"' in text


def test_reading_a_sheet_that_is_not_there_says_so(steward_client):
    job = uploaded(steward_client, regions(), "regions.xlsx")
    assert "华北" in sheet_read(steward_client, job, "华北")
    job.refresh_from_db()
    assert job.sheet == "华东"


def sheet_read(client, job: ImportJob, sheet: str) -> str:
    """The page after asking to read `sheet` (in English)."""
    response = client.post(
        reverse("import_sheet", args=[job.pk]),
        {"sheet": sheet},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    return response.content.decode()


def test_the_command_imports_every_sheet_the_mapping_fits(tmp_path, capsys):
    path = tmp_path / "regions.xlsx"
    path.write_bytes(same_columns())
    report = tmp_path / "errors.xlsx"
    call_command(
        "import_customers",
        str(path),
        "--source=legacy",
        "--all-sheets",
        "--no-match",
        f"--errors-out={report}",
    )
    out = capsys.readouterr().out
    assert "Sheet '说明' left out: no column" in out
    assert "Sheet '旧客户' left out: hidden." in out
    assert "Sheet '华东':\n2 created" in out
    assert "Sheet '华南':\n2 created, 0 updated, 0 unchanged, 1 rejected" in out
    rows = list(load_workbook(tmp_path / "errors-华南.xlsx").active.values)
    assert rows[1][0] == 4
    assert not (tmp_path / "errors-华东.xlsx").exists()  # nothing rejected
    assert len(by_key()) == 4


def test_the_command_imports_the_sheets_named_in_order(tmp_path, capsys):
    path = tmp_path / "regions.xlsx"
    path.write_bytes(regions())
    with pytest.raises(CommandError, match="Sheet “华东”: None of the saved"):
        call_command(
            "import_customers",
            str(path),
            "--source=legacy",
            "--sheet=华南",
            "--sheet=华东",
            "--no-match",
        )
    assert SourceRecord.objects.count() == 0
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        '{"单位名称": "legal_name", "客户名称": "legal_name", "手机": "phones",'
        ' "联系电话": "phones"}'
    )
    call_command(
        "import_customers",
        str(path),
        "--source=legacy",
        "--sheet=华南",
        "--sheet=华东",
        "--no-match",
        f"--mapping={mapping}",
    )
    second = ImportJob.objects.get(part_of__isnull=False)
    assert (second.part_of.sheet, second.sheet) == ("华南", "华东")
    assert len(by_key()) == 4


def test_an_erased_workbook_is_deleted_for_every_sheets_import():
    job = create(same_columns())
    import_job_confirm(job=job, mapping=job.mapping, other_sheets=["华南"])
    counts = import_files_scrub(re.compile("13900000001"))
    assert counts["import files deleted"] == 1
    assert set(ImportJob.objects.values_list("file", flat=True)) == {""}
