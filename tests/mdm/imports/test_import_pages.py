import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from mdm.models import ImportJob, SourceRecord
from mdm.services.imports import import_job_run
from tests.mdm.imports.test_import_service import ROWS, gbk_csv, xlsx


def upload(client, content: bytes, name: str, system="legacy", **extra):
    return client.post(
        reverse("imports"),
        {
            "file": _named(content, name),
            "source_system": system,
            "mode": "per_row",
            "encoding": "",
            **extra,
        },
    )


def _named(content: bytes, name: str):
    handle = io.BytesIO(content)
    handle.name = name
    return handle


@pytest.mark.django_db
def test_an_upload_shows_the_proposed_mapping_for_confirmation(steward_client):
    response = upload(steward_client, gbk_csv(ROWS), "客户.csv")
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("import_detail", args=[job.pk])
    page = steward_client.get(response["Location"]).content.decode()
    assert 'name="map::客户名称"' in page
    assert "北京华盛科技有限公司" in page  # a sample row
    assert SourceRecord.objects.count() == 0  # nothing imported before confirmation


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_confirmed_import_runs_in_the_worker_and_reports_bad_rows(steward_client):
    rows = ROWS + [["L-9", "", "", "", "", ""]]
    upload(steward_client, xlsx(rows), "名单.xlsx")
    job = ImportJob.objects.get()
    form = {f"map::{header}": field or "" for header, field in job.mapping.items()}
    form["map::地址"] = ""  # the importer chose to ignore a column
    response = steward_client.post(reverse("import_confirm", args=[job.pk]), form)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    assert job.mapping["地址"] is None
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    job.refresh_from_db()
    assert (job.status, job.created_count, job.failed_count) == ("done", 3, 1)
    assert all(not r.attributes["addresses"] for r in SourceRecord.objects.all())
    progress = steward_client.get(reverse("import_progress", args=[job.pk]))
    assert "hx-trigger" not in progress.content.decode()  # finished: no more polling
    report = steward_client.get(reverse("import_errors", args=[job.pk]))
    lines = list(load_workbook(io.BytesIO(report.content)).active.values)
    assert (lines[1][0], lines[1][2]) == (7, "missing_name")


@pytest.mark.django_db
def test_a_file_that_is_not_a_spreadsheet_gets_a_clear_message(steward_client):
    response = upload(steward_client, b"\x89PNG\r\n\x1a\n" + b"0" * 100, "客户.xlsx")
    assert response.status_code == 400
    assert "不是电子表格" in response.content.decode()  # the page's language
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_an_oversized_upload_is_refused(steward_client, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    response = upload(steward_client, gbk_csv(ROWS), "客户.csv")
    assert response.status_code == 400
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_viewers_cannot_import(viewer_client):
    assert viewer_client.get(reverse("imports")).status_code == 403
    assert upload(viewer_client, gbk_csv(ROWS), "客户.csv").status_code == 403


@pytest.mark.django_db
def test_a_steward_starting_too_many_imports_waits(steward_client, settings):
    # RELIABILITY W6: imports 6/min by default; 2/min here.
    settings.IMPORT_RATE = "2/min"
    for _ in range(2):
        assert upload(steward_client, gbk_csv(ROWS), "客户.csv").status_code == 302
    refused = upload(steward_client, gbk_csv(ROWS), "客户.csv")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Too many imports" in refused.content.decode() or "导入过于频繁" in (
        refused.content.decode()
    )
    assert ImportJob.objects.count() == 2


@pytest.mark.django_db
def test_a_json_export_is_previewed_as_records_mapped_by_the_systems_preset(
    steward_client,
):
    export = json.dumps(
        {"RECORDS": [{"FNumber": "C-1", "FName": "北京华盛科技有限公司"}]},
        ensure_ascii=False,
        indent=1,
    ).encode()
    response = upload(steward_client, export, "customers.json", system="erp")
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.format, job.mapping) == ("json", {})  # no columns to map
    page = steward_client.get(response["Location"]).content.decode()
    assert "这些记录是该系统自己导出的，按其字段映射" in page
    assert 'name="map::' not in page


@pytest.mark.django_db
def test_another_programs_json_export_is_mapped_by_its_keys(steward_client):
    records = [
        {"cust_no": "K-1", "cust_name": "北京华盛科技有限公司", "tel": "010-6552 1234"},
        {"cust_no": "K-2", "cust_name": "上海明远贸易有限公司", "tel": None},
    ]
    export = json.dumps({"RECORDS": records}, ensure_ascii=False).encode()
    response = upload(steward_client, export, "crm.json", system="legacy")
    job = ImportJob.objects.get()
    page = steward_client.get(response["Location"]).content.decode()
    assert "该系统的字段映射读不出这些记录：记录的键即为列。" in page
    assert 'name="map::cust_name"' in page and "010-6552 1234" in page
    form = {f"map::{key}": field or "" for key, field in job.mapping.items()}
    response = steward_client.post(reverse("import_confirm", args=[job.pk]), form)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    job = import_job_run(job=job)  # what the worker does (the test above)
    assert (job.created_count, job.failed_count) == (2, 0)
    assert SourceRecord.objects.get(source_id="K-2").name == "上海明远贸易有限公司"
