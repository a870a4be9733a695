"""PIPL erasure (RELIABILITY W9): afterwards no text or JSON column of any
table, and no stored import file, holds the erased phone or ID number; the
skeleton (IDs, cross-references, decisions, history rows) survives and other
customers are untouched."""

from __future__ import annotations

import json
import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models

from mdm.models import (
    AuditEvent,
    CrossReference,
    ErasureRecord,
    GoldenRecord,
    ImportJob,
    ImportRowError,
    OutboxEvent,
    ReviewTask,
    SourceRecord,
    StewardDecision,
)
from mdm.services.erasure import (
    ErasureError,
    ErasureRequest,
    erasure_request_execute,
    erasure_subject_hash,
)
from mdm.services.golden_records import golden_record_merge, golden_record_pin_set
from mdm.services.imports import import_job_confirm, import_job_create, import_job_run
from mdm.services.review_queue import review_task_open
from tests.importing import files
from tests.mdm.ui.helpers import golden_of, make_record, make_steward

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
ID_NUMBER = "11010119900307123X"
USCC = "91110108MA01KPGK0L"
EMAIL = "zhangsan@huasheng.cn"
OTHER_PHONE = "13700137000"
OTHER_ID = "110105198001011234"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def customer():
    """One company in two systems, merged by a steward, with a pinned value,
    a review task, an import whose file and rejected row hold the numbers;
    and another customer that must not change."""
    steward = make_steward()
    erp = make_record(
        "erp",
        FName="北京华盛科技有限公司",
        FTel="138 0013 8000",
        FEMail=EMAIL,
        FTaxRegisterCode=USCC,
        FAddress="朝阳区建国路88号",
        FContact="张三",
        FContactTel=PHONE,
        FRemark=f"法人身份证 {ID_NUMBER}",
    )
    crm = make_record("crm", Name="华盛科技", Phone=f"+86 {PHONE}", Email__c=EMAIL)
    other = make_record(
        "erp", FName="上海远景贸易有限公司", FTel=OTHER_PHONE, FRemark=OTHER_ID
    )
    from mdm.services.golden_records import golden_record_create

    a, b = golden_record_create(members=[erp]), golden_record_create(members=[crm])
    golden_record_create(members=[other])
    review_task_open(
        a=erp,
        b=other,
        score=0.7,
        evidence=[{"comparison": "phone", "text": f"{PHONE} vs {OTHER_PHONE}"}],
    )
    merged = golden_record_merge(
        survivor=a, absorbed=[b], steward=steward, reason=f"same phone {PHONE}"
    )
    golden_record_pin_set(
        golden=merged,
        attribute="legal_name",
        value="北京华盛科技有限公司",
        steward=steward,
        expected_version=merged.version,
    )
    csv = (
        "客户名称,电话,身份证\n"
        f"北京华盛科技有限公司,{PHONE},{ID_NUMBER}\n"
        f",{PHONE},{ID_NUMBER}\n"  # no name: rejected, values kept in the error
        f"上海远景贸易有限公司,{OTHER_PHONE},{OTHER_ID}\n"
    ).encode()
    job = import_job_create(
        system=erp.source_system, content=csv, filename="客户.csv", user=steward
    )
    import_job_confirm(job=job, mapping=job.mapping)
    import_job_run(job=ImportJob.objects.get(pk=job.pk))
    return {"golden": golden_of(erp), "other": other, "job": job}


def hits(needle: str) -> list[str]:
    """Every (table.column) whose text holds `needle`, as any digit run
    written with separators, across every model and the stored files."""
    pattern = re.compile(r"[\s\-()]*".join(re.escape(c) for c in needle), re.I)
    found = []
    for model in apps.get_models(include_auto_created=True):
        columns = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
        ]
        for row in model._base_manager.all():
            for column in columns:
                value = getattr(row, column.attname)
                text = (
                    value
                    if isinstance(value, str)
                    else json.dumps(value, ensure_ascii=False)
                )
                if pattern.search(text or ""):
                    found.append(f"{model._meta.db_table}.{column.name}")
    for job in ImportJob.objects.exclude(file=""):
        with job.file.open("rb") as handle:
            if pattern.search(handle.read().decode("utf-8", "replace")):
                found.append(f"file {job.file.name}")
    return found


def test_the_phone_and_id_number_are_nowhere_after_erasure(customer):
    assert hits(PHONE) and hits(ID_NUMBER)  # the test can fail
    erasure_request_execute(
        request=ErasureRequest(phones=(PHONE,), id_numbers=(ID_NUMBER,)),
        reason="PIPL request 2024-17",
    )
    assert hits(PHONE) == []
    assert hits(ID_NUMBER) == []
    assert hits(EMAIL) == []
    assert hits(USCC) == []


def test_other_customers_are_untouched(customer):
    other = customer["other"]
    before = SourceRecord.objects.get(pk=other.pk)
    card = golden_of(other)
    erasure_request_execute(
        request=ErasureRequest(phones=(PHONE,)), reason="PIPL request 2024-17"
    )
    after = SourceRecord.objects.get(pk=other.pk)
    assert (after.raw_payload, after.attributes) == (
        before.raw_payload,
        before.attributes,
    )
    assert hits(OTHER_PHONE) and hits(OTHER_ID)
    assert golden_of(other).phones == card.phones
    assert golden_of(other).history.count() == card.history.count()


def test_the_skeleton_survives(customer):
    golden = customer["golden"]
    counts = {
        model: model._base_manager.count()
        for model in (
            SourceRecord,
            CrossReference,
            GoldenRecord,
            StewardDecision,
            ReviewTask,
            ImportJob,
            ImportRowError,
        )
    }
    history = SourceRecord.history.count()
    erasure_request_execute(
        request=ErasureRequest(golden_ids=(golden.golden_id,)), reason="request 9"
    )
    for model, count in counts.items():
        assert model._base_manager.count() == count, model
    # One history row per scrubbed source record, saying so.
    erased = ErasureRecord.objects.get().source_keys
    assert SourceRecord.history.count() == history + len(erased) >= history + 2
    golden.refresh_from_db()
    assert golden.golden_id and golden.legal_name == "北京华盛科技有限公司"
    assert (golden.phones, golden.emails, golden.uscc, golden.contacts) == (
        [],
        [],
        "",
        [],
    )
    assert set(
        CrossReference.objects.filter(golden=golden).values_list(
            "source_record__source_id", flat=True
        )
    ) == {m.source_id for m in SourceRecord.objects.filter(xref__golden=golden)}
    assert (
        StewardDecision.objects.filter(kind="merge").get().decided_by.username
        == "alice"
    )
    # Receivers are told: an update with the scrubbed card.
    event = OutboxEvent.objects.filter(golden_id=golden.golden_id).last()
    assert event.payload["id_card"]["phones"] == []


def test_the_erasure_is_recorded_without_the_identifiers(customer):
    erasure_request_execute(
        request=ErasureRequest(phones=(PHONE,)), reason=f"customer {PHONE} asked"
    )
    record = ErasureRecord.objects.get()
    assert erasure_subject_hash(PHONE) in record.subject_hashes
    assert PHONE not in json.dumps(
        [record.reason, record.subject_hashes, record.counts], ensure_ascii=False
    )
    assert customer["golden"].golden_id in record.golden_ids  # and the imported one
    event = AuditEvent.objects.get(action=AuditEvent.Action.ERASURE)
    assert event.outcome == "ok" and PHONE not in event.detail


def test_the_import_file_is_rewritten_and_the_job_kept(customer):
    job = customer["job"]
    erasure_request_execute(request=ErasureRequest(phones=(PHONE,)), reason="r")
    job.refresh_from_db()
    assert job.file and job.status == ImportJob.Status.DONE
    with job.file.open("rb") as handle:
        text = handle.read().decode()
    assert PHONE not in text and OTHER_PHONE in text


@pytest.mark.parametrize("kind", ["html", "xml2003", "json"])
def test_an_uploaded_web_page_excel_2003_xml_or_json_is_rewritten_too(customer, kind):
    rows = [
        ["客户名称", "电话"],
        ["北京华盛科技有限公司", PHONE],
        ["上海远景贸易有限公司", OTHER_PHONE],
    ]
    if kind == "html":
        content = files.html_table(rows, charset="gbk")
    elif kind == "xml2003":
        content = files.spreadsheet_xml(rows)
    else:
        records = [
            {"FNumber": f"E{i}", "FName": n, "FTel": t}
            for i, (n, t) in enumerate(rows[1:])
        ]
        content = json.dumps({"RECORDS": records}, ensure_ascii=False).encode()
    job = import_job_create(
        system=customer["job"].source_system, content=content, filename="客户.xls"
    )
    import_job_confirm(job=job, mapping=job.mapping)
    import_job_run(job=ImportJob.objects.get(pk=job.pk))
    erasure_request_execute(request=ErasureRequest(phones=(PHONE,)), reason="r")
    job.refresh_from_db()
    assert job.format == kind and job.file
    with job.file.open("rb") as handle:
        text = handle.read().decode("gb18030")
    assert PHONE not in text and OTHER_PHONE in text


WORKBOOKS = {
    "xlsx": files.xlsx,
    "xls": files.xls,
    "ods": files.ods,
    "xlsb": files.xlsb,
}


@pytest.mark.parametrize("kind", sorted(WORKBOOKS))
def test_an_uploaded_workbook_holding_the_number_is_deleted(customer, kind):
    rows = [
        ["客户名称", "电话"],
        ["北京华盛科技有限公司", PHONE],
        ["上海远景贸易有限公司", OTHER_PHONE],
    ]
    # Stored under a name that misleads about its kind: read by content.
    job = import_job_create(
        system=customer["job"].source_system,
        content=WORKBOOKS[kind](rows),
        filename="客户.xlsx" if kind != "xlsx" else "客户.xls",
    )
    stored = job.file.name
    import_job_confirm(job=job, mapping=job.mapping)
    import_job_run(job=ImportJob.objects.get(pk=job.pk))
    erasure_request_execute(request=ErasureRequest(phones=(PHONE,)), reason="r")
    job.refresh_from_db()
    assert job.format == kind and job.status == ImportJob.Status.DONE
    assert not job.file and not job.file.storage.exists(stored)


def test_an_unknown_identifier_is_refused():
    with pytest.raises(ErasureError):
        erasure_request_execute(request=ErasureRequest(phones=(PHONE,)), reason="r")
    with pytest.raises(ErasureError):
        erasure_request_execute(request=ErasureRequest(), reason="r")


def test_the_command_erases(customer, capsys):
    call_command(
        "erase_personal_data", "--phone", PHONE, "--reason", "ticket 5", "--yes"
    )
    assert "Erasure" in capsys.readouterr().out
    assert hits(PHONE) == []
    assert AuditEvent.objects.get(action="pii.erasure").actor == (
        "command:erase_personal_data"
    )
