"""An importer's path in a real browser: upload a legacy .xls made by
LibreOffice, a web page saved as .xls and a GBK CSV, confirm the proposed
mapping, follow the import, download the error report."""

import io

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from mdm.models import ImportJob, ImportProfile, SourceRecord
from tests.browser import BROWSER_TEST_MARKS, log_in
from tests.importing import files
from tests.mdm.imports.profiles import workbook
from tests.mdm.imports.test_import_blank_rows_continue import GBK_CSV
from tests.mdm.imports.test_import_merged_rows import merged_xlsx
from tests.mdm.imports.test_import_service import HEADER, ROWS, gbk_csv, xlsx
from tests.mdm.imports.test_import_sheets import regions
from tests.mdm.ui.helpers import make_steward

pytestmark = BROWSER_TEST_MARKS

BAD_ROW = ["L-9", "", "010-1234 5678", "", "", ""]


def import_through_the_page(page, live_server, path, system="legacy") -> ImportJob:
    upload_through_the_page(page, live_server, path, system)
    page.wait_for_selector("select[name='map::客户名称']")
    assert page.input_value("select[name='map::客户名称']") == "legal_name"
    assert page.input_value("select[name='map::联系电话']") == "phones"
    confirm_and_run(page)
    page.wait_for_selector(".status-done")
    return ImportJob.objects.latest("created_at")


def upload_through_the_page(
    page, live_server, path, system="legacy", mode: str | None = None
) -> None:
    """Upload `path` on the imports page; its confirmation page follows."""
    page.goto(f"{live_server.url}/imports/")
    page.set_input_files("#id_file", str(path))
    page.select_option("#id_source_system", system)
    if mode is not None:
        page.select_option("#id_mode", mode)
    page.click("form.import-form button[type=submit]")


def confirm_and_run(page) -> None:
    """Confirm the mapping shown, run the queued work, show its progress."""
    page.click("form[action$='/confirm/'] button[type=submit]")
    page.wait_for_selector("#import-progress")
    run_the_worker(page)


def run_the_worker(page) -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    page.reload()


@pytest.mark.skipif(
    files.SOFFICE is None,
    reason="needs LibreOffice: apt-get install libreoffice-calc-nogui",
)
# The sheet as a legacy .xls, and saved as a web page but named .xls, as web
# reports name their "Excel" export.
@pytest.mark.parametrize("target", ["xls", "html"])
def test_a_libreoffice_file_is_imported_and_its_error_report_downloaded(
    page, live_server, tmp_path, target
):
    make_steward()
    path = tmp_path / "upload.xls"
    path.write_bytes(files.libreoffice_copy(xlsx([*ROWS, BAD_ROW]), target, tmp_path))
    log_in(page, live_server, "alice", "/imports/")
    job = import_through_the_page(page, live_server, path)
    assert (job.format, job.created_count, job.failed_count) == (target, 3, 1)
    assert SourceRecord.objects.get(source_id="L-1").attributes["phones"] == [
        "13800138000"
    ]
    with page.expect_download() as download:
        page.click("a[href$='errors.xlsx']")
    report = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    lines = list(report.values)
    assert (lines[1][0], lines[1][2]) == (7, "missing_name")


def test_a_gbk_csv_is_imported_through_the_page(page, live_server, tmp_path):
    make_steward()
    path = tmp_path / "客户.csv"
    path.write_bytes(gbk_csv(ROWS))
    log_in(page, live_server, "alice", "/imports/")
    job = import_through_the_page(page, live_server, path)
    assert (job.encoding, job.created_count) == ("gb18030", 3)
    assert SourceRecord.objects.get(source_id="L-1").name == "北京华盛科技有限公司"


def test_a_profile_saved_during_one_import_pre_fills_the_next(
    page, live_server, tmp_path
):
    make_steward()
    first = tmp_path / "一月客户.csv"
    first.write_bytes(gbk_csv(ROWS))
    log_in(page, live_server, "alice", "/imports/")
    page.set_input_files("#id_file", str(first))
    page.select_option("#id_source_system", "legacy")
    page.click("form.import-form button[type=submit]")
    # The synonyms propose 地址 as the address; this importer ignores it.
    assert page.input_value("select[name='map::地址']") == "address"
    page.select_option("select[name='map::地址']", "")
    page.check("input[name=profile_action][value=new]")
    page.fill("input[name=profile_name]", "月度客户")
    page.click("form[action$='/confirm/'] button[type=submit]")
    page.wait_for_selector("#import-progress")
    assert "映射已保存为方案 月度客户" in page.inner_text(".messages")

    # Next month's file: the same columns, as .xlsx below a title, plus one.
    second = tmp_path / "二月客户.xlsx"
    lines = [["2月客户名单"], [], [*HEADER, "邮箱"], *([*r, "a@b.cn"] for r in ROWS)]
    second.write_bytes(workbook({"客户": lines}))
    page.goto(f"{live_server.url}/imports/")
    page.set_input_files("#id_file", str(second))
    page.select_option("#id_source_system", "legacy")
    page.click("form.import-form button[type=submit]")
    page.wait_for_selector(".profile-use")
    assert "月度客户" in page.inner_text(".profile-use")
    assert page.input_value("select[name='map::地址']") == ""  # from the profile
    assert page.input_value("select[name='map::客户名称']") == "legal_name"
    assert page.inner_text("tr.new-column td:first-child").startswith("邮箱")
    assert page.input_value("#id_profile") == str(
        ImportProfile.objects.get(name="月度客户").pk
    )


@pytest.mark.skipif(
    files.SOFFICE is None,
    reason="needs LibreOffice: apt-get install libreoffice-calc-nogui",
)
def test_contact_rows_of_a_csv_join_their_customer_when_the_box_is_ticked(
    page, live_server, tmp_path
):
    make_steward()
    path = tmp_path / "联系人.csv"
    path.write_bytes(files.libreoffice_copy(merged_xlsx(), GBK_CSV, tmp_path))
    log_in(page, live_server, "alice", "/imports/")
    upload_through_the_page(page, live_server, path)
    notice = page.wait_for_selector(".keyless-rows")
    assert "示例中有 2 行既无名称也无编号" in notice.inner_text()
    page.check("#id_blank_rows_continue")
    confirm_and_run(page)
    joined = page.wait_for_selector("#import-progress li.joined")
    assert joined.inner_text().endswith(": 2")
    record = SourceRecord.objects.get(source_id="C1")
    assert [c["name"] for c in record.attributes["contacts"]] == [
        "王伟",
        "李娜",
        "赵敏",
    ]


@pytest.mark.skipif(
    files.SOFFICE is None,
    reason="needs LibreOffice: apt-get install libreoffice-calc-nogui",
)
def test_two_sheets_of_a_libreoffice_workbook_are_read_and_imported_together(
    page, live_server, tmp_path
):
    make_steward()
    book = load_workbook(io.BytesIO(regions(south_title=True)))
    book["华南"]["A2"], book["华南"]["B2"] = "客户名称", "手机"
    content = io.BytesIO()
    book.save(content)
    path = tmp_path / "regions.ods"
    path.write_bytes(files.libreoffice_copy(content.getvalue(), "ods", tmp_path))
    log_in(page, live_server, "alice", "/imports/")
    upload_through_the_page(page, live_server, path)
    assert "这个工作簿有 3 个工作表。" in page.inner_text("form.sheet-choice")
    page.select_option("form.sheet-choice select", "华南")
    page.click("form.sheet-choice button")
    page.wait_for_selector("text=第 2 行")  # 华南's header, under its title
    page.check(".other-sheets input[value='华东']")
    confirm_and_run(page)
    listed = page.inner_text(".sheet-imports")
    assert listed.count("新建 2，更新 0，拒绝 0") == 2, listed
    assert sorted(SourceRecord.objects.values_list("source_id", flat=True)) == [
        "regions#2",
        "regions#3",
        "regions/华南#3",
        "regions/华南#4",
    ]


def test_a_file_checked_through_the_page_is_then_imported(page, live_server, tmp_path):
    make_steward()
    path = tmp_path / "客户名单.xlsx"
    path.write_bytes(xlsx([*ROWS, BAD_ROW]))
    log_in(page, live_server, "alice", "/imports/")
    upload_through_the_page(page, live_server, path, mode="check")
    confirm_and_run(page)
    assert "只做了检查" in page.inner_text("#import-progress .check-only")
    assert SourceRecord.objects.count() == 0
    page.click("form.import-checked button")
    page.wait_for_selector("#import-progress")
    run_the_worker(page)
    page.wait_for_selector(".status-done")
    assert not page.query_selector(".check-only")
    assert SourceRecord.objects.count() == 3
