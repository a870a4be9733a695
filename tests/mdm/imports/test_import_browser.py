"""An importer's path in a real browser: upload a legacy .xls made by
LibreOffice and a GBK CSV, confirm the proposed mapping, follow the import,
download the error report."""

import io
import shutil
import subprocess

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from mdm.models import ImportJob, SourceRecord
from tests.browser import BROWSER_TEST_MARKS, log_in
from tests.mdm.imports.test_import_service import ROWS, gbk_csv, xlsx
from tests.mdm.ui.helpers import make_steward

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

pytestmark = BROWSER_TEST_MARKS

BAD_ROW = ["L-9", "", "010-1234 5678", "", "", ""]


def libreoffice_xls(tmp_path) -> bytes:
    source = tmp_path / "客户名单.xlsx"
    source.write_bytes(xlsx([*ROWS, BAD_ROW]))
    subprocess.run(
        [
            SOFFICE,
            "--headless",
            "--norestore",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "xls",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return (tmp_path / "客户名单.xls").read_bytes()


def import_through_the_page(page, live_server, path, system="legacy") -> ImportJob:
    page.goto(f"{live_server.url}/imports/")
    page.set_input_files("#id_file", str(path))
    page.select_option("#id_source_system", system)
    page.click("form.import-form button[type=submit]")
    page.wait_for_selector("select[name='map::客户名称']")
    assert page.input_value("select[name='map::客户名称']") == "legal_name"
    assert page.input_value("select[name='map::联系电话']") == "phones"
    page.click("form[action$='/confirm/'] button[type=submit]")
    page.wait_for_selector("#import-progress")
    job = ImportJob.objects.latest("created_at")
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    page.reload()
    page.wait_for_selector(".status-done")
    job.refresh_from_db()
    return job


@pytest.mark.skipif(
    SOFFICE is None, reason="needs LibreOffice: apt-get install libreoffice-calc-nogui"
)
def test_a_libreoffice_xls_is_imported_and_its_error_report_downloaded(
    page, live_server, tmp_path
):
    make_steward()
    path = tmp_path / "upload.xls"
    path.write_bytes(libreoffice_xls(tmp_path))
    log_in(page, live_server, "alice", "/imports/")
    job = import_through_the_page(page, live_server, path)
    assert (job.format, job.created_count, job.failed_count) == ("xls", 3, 1)
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
