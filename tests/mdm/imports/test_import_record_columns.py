"""JSON records that the source system's field mapping does not read (a
database export from another program) are mapped by their keys, as columns."""

import io
import json

import pytest
from django.core.management import call_command
from django.utils.timezone import localtime
from openpyxl import load_workbook

from mdm.importing import readers
from mdm.models import ImportJob, SourceRecord, SourceSystem
from mdm.services import import_tables
from mdm.services.import_profiles import (
    ImportOptions,
    import_job_confirm_with_profile,
    import_job_create_with_profile,
    import_job_reading_overrides,
)
from mdm.services.import_reports import import_error_report
from mdm.services.imports import (
    import_job_confirm,
    import_job_create,
    import_job_preview,
    import_job_run,
)

pytestmark = pytest.mark.django_db

# A home-grown CRM's customer table as Navicat exports it to JSON.
NAVICAT_RECORDS = [
    {
        "customer_code": "K-1",
        "customer_name": "北京华盛科技有限公司",
        "credit_code": "91110108MA01KPGK0L",
        "mobile": 13800138000,
        "linkman": {"name": "王磊", "phone": "010-6552 1234"},
        "create_time": "2021-03-05 10:23:45",
        "remark": None,
    },
    {
        "customer_code": "K-2",
        "customer_name": "上海明远贸易有限公司",
        "credit_code": "",
        "mobile": "021-5555 0000",
        "linkman": {"name": "李娜", "phone": None},
        "create_time": "2021-03-06 08:00:00",
        "remark": "老客户",
    },
    {
        "customer_code": "K-3",
        "customer_name": "",
        "credit_code": "",
        "mobile": "020-8888 1234",
        "linkman": {"name": None, "phone": None},
        "create_time": "2021-03-07 09:00:00",
        "remark": None,
    },
]


def navicat_export(records) -> bytes:
    return json.dumps({"RECORDS": records}, ensure_ascii=False, indent=2).encode()


def legacy() -> SourceSystem:
    return SourceSystem.objects.get(code="legacy")


def test_keys_the_systems_mapping_does_not_know_are_proposed_as_columns():
    job = import_job_create(
        system=legacy(), content=navicat_export(NAVICAT_RECORDS), filename="c.json"
    )
    assert job.format == "json"
    assert job.mapping == {
        "customer_code": "source_id",
        "customer_name": "legal_name",
        "credit_code": "uscc",
        "mobile": "phones",
        "linkman.name": "contact",
        "linkman.phone": "phones",
        "create_time": "created",
        "remark": None,
    }
    preview = import_job_preview(job=job)
    assert [c.header for c in preview.mapping.columns] == list(job.mapping)
    assert preview.sample[0][:4] == [
        "K-1",
        "北京华盛科技有限公司",
        "91110108MA01KPGK0L",
        "13800138000",
    ]


def test_a_key_first_seen_late_in_the_file_is_a_column(monkeypatch):
    # A job's columns are the keys of its first records, then its mapping's.
    monkeypatch.setattr(import_tables, "JOB_SCAN_RECORDS", 3)
    records = [
        {"customer_code": f"K-{n}", "customer_name": f"华盛{n}号科技有限公司"}
        for n in range(6)
    ]
    records[4]["credit_code"] = "91110108MA01KPGK0L"
    job = import_job_create(
        system=legacy(), content=navicat_export(records), filename="c.json"
    )
    assert job.mapping == {
        "customer_code": "source_id",
        "customer_name": "legal_name",
        "credit_code": "uscc",
    }
    preview = import_job_preview(job=job)
    assert [c.header for c in preview.mapping.columns][-1] == "credit_code"
    assert preview.sample[4][-1] == "91110108MA01KPGK0L"
    import_job_confirm(job=job, mapping=job.mapping)
    job = import_job_run(job=job)
    assert (job.created_count, job.failed_count) == (6, 0)
    late = SourceRecord.objects.get(source_id="K-4")
    assert late.attributes["uscc"] == "91110108MA01KPGK0L"


def test_a_jobs_later_openings_use_the_layout_found_at_upload(monkeypatch):
    job = import_job_create(
        system=legacy(), content=navicat_export(NAVICAT_RECORDS), filename="c.json"
    )
    assert job.layout["prefix"] == "RECORDS.item" and job.layout["count"] == 3

    def found_again(*args):
        raise AssertionError("the stored file's layout was found again")

    monkeypatch.setattr(readers, "json_layout", found_again)
    job.refresh_from_db()
    assert import_job_preview(job=job).sample[1][0] == "K-2"
    import_job_confirm(job=job, mapping=job.mapping)
    assert import_job_run(job=job).created_count == 2
    # Saving a profile from the job reads which options it overrode.
    assert import_job_reading_overrides(job=job) == ImportOptions(sheet="", encoding="")


def test_records_read_as_columns_are_imported_cleaned_and_checked():
    job = import_job_create(
        system=legacy(), content=navicat_export(NAVICAT_RECORDS), filename="c.json"
    )
    import_job_confirm(job=job, mapping=job.mapping)
    job = import_job_run(job=job)
    assert (job.created_count, job.failed_count) == (2, 1)
    error = job.row_errors.get()
    assert (error.row, error.code) == (3, "missing_name")
    first = SourceRecord.objects.get(source_id="K-1")
    assert first.name == "北京华盛科技有限公司"
    assert first.attributes["uscc"] == "91110108MA01KPGK0L"
    assert first.attributes["phones"] == ["13800138000", "010-6552 1234"]
    assert first.attributes["contacts"][0]["name"] == "王磊"
    assert localtime(first.source_created_at).date().isoformat() == "2021-03-05"
    # The error report shows the record's values under its keys' order.
    sheet = load_workbook(io.BytesIO(import_error_report(job=job))).active
    reported = [cell.value for cell in next(sheet.iter_rows(min_row=2))]
    assert reported[:2] == [3, "customer_name"]
    assert "K-3" in reported and "020-8888 1234" in reported


def test_reimporting_the_same_records_changes_nothing():
    content = navicat_export(NAVICAT_RECORDS)
    for expected in ((2, 0), (0, 2)):
        job = import_job_create(system=legacy(), content=content, filename="c.json")
        import_job_confirm(job=job, mapping=job.mapping)
        job = import_job_run(job=job)
        assert (job.created_count, job.unchanged_count) == expected


def test_json_lines_with_unix_times_and_a_broken_line():
    lines = [
        json.dumps(
            {"id": 7, "name": "广州恒通物流有限公司", "createdAt": 1614877200000}
        ),
        "{broken",
        json.dumps({"id": 8, "name": "深圳海川电子有限公司", "createdAt": 1614877200}),
    ]
    job = import_job_create(
        system=legacy(), content="\n".join(lines).encode(), filename="api.jsonl"
    )
    assert job.mapping == {
        "id": "source_id",
        "name": "legal_name",
        "createdAt": "created",
    }
    import_job_confirm(job=job, mapping=job.mapping)
    job = import_job_run(job=job)
    assert (job.format, job.created_count, job.failed_count) == ("jsonl", 2, 1)
    assert job.row_errors.get().row == 2
    for source_id in ("7", "8"):  # 2021-03-05 01:00 in Asia/Shanghai, the 4th in UTC
        created = SourceRecord.objects.get(source_id=source_id).source_created_at
        assert localtime(created).date().isoformat() == "2021-03-05"


def test_the_systems_own_export_keeps_its_field_mapping():
    records = [
        {"FNumber": "C-1", "FName": "北京华盛科技有限公司", "FTel": "010-65521234"}
    ]
    job = import_job_create(
        system=SourceSystem.objects.get(code="erp"),
        content=navicat_export(records),
        filename="k3.json",
    )
    assert job.mapping == {}
    assert import_job_preview(job=job).mapping is None
    # The same records under a system whose mapping does not know them.
    job = import_job_create(
        system=legacy(), content=navicat_export(records), filename="k3.json"
    )
    assert job.mapping == {"FNumber": None, "FName": "legal_name", "FTel": None}


def test_a_confirmed_mapping_is_saved_as_a_profile_and_picked_next_time(tmp_path):
    job = import_job_create_with_profile(
        system=legacy(), content=navicat_export(NAVICAT_RECORDS), filename="c.json"
    )
    mapping = dict(job.mapping, remark="industry")
    import_job_confirm_with_profile(job=job, mapping=mapping, save_as="home-grown CRM")
    # Next month's export: the profile is picked by the records' keys.
    path = tmp_path / "next.json"
    path.write_bytes(navicat_export(NAVICAT_RECORDS[:2]))
    call_command("import_customers", str(path), "--source", "legacy")
    job = ImportJob.objects.latest("pk")
    assert job.profile_use.profile_name == "home-grown CRM"
    assert job.mapping["remark"] == "industry"
    assert SourceRecord.objects.get(source_id="K-2").attributes["industry"] == "老客户"


def test_a_new_key_of_a_profiles_records_is_proposed_as_a_key():
    job = import_job_create_with_profile(
        system=legacy(), content=navicat_export(NAVICAT_RECORDS), filename="c.json"
    )
    import_job_confirm_with_profile(job=job, mapping=job.mapping, save_as="CRM")
    # The next export adds the contact's phone: a phone by its key's last part
    # (as a sheet header, "linkman.tel" would read as the contact).
    records = [
        dict(r, linkman=dict(r["linkman"], tel="010-1")) for r in NAVICAT_RECORDS
    ]
    job = import_job_create_with_profile(
        system=legacy(), content=navicat_export(records), filename="c.json"
    )
    assert job.profile_use.new_columns == ["linkman.tel"]
    assert job.mapping["linkman.tel"] == "phones"
