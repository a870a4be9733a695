"""A customer's name cell merged down over its contacts' rows: one customer
with several contacts, not customers without a name."""

import io

import openpyxl
import pytest
import xlwt
from django.test import override_settings
from django.urls import reverse
from django.utils.timezone import localtime

from mdm.models import ImportJob, ImportRowError, SourceRecord
from mdm.services.import_reports import import_error_report
from mdm.services.imports import import_job_confirm, import_job_run
from tests.importing import files
from tests.mdm.imports.test_import_pages import upload
from tests.mdm.imports.test_import_service import run_import

pytestmark = pytest.mark.django_db

HEADER = ["客户编号", "客户名称", "联系人", "职务", "手机", "邮箱", "税号"]
# Customer C1 over rows 3–5, its ID and name merged down; C2 on one row.
ROWS = [
    ["C1", "北京华盛科技有限公司", "王伟", "总经理", "13800138000", "wang@hs.cn", None],
    [None, None, "李娜", "采购", "13900139000", None, None],
    [None, None, "赵敏", None, "13700137000", "zhao@hs.cn", None],
    ["C2", "上海东方贸易有限公司", "钱进", "经理", "13600136000", None, None],
]
MERGES = ["A3:A5", "B3:B5"]


def merged_xlsx(rows=ROWS, merges=MERGES, header=HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2024年客户联系人名单"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for ref in merges:
        sheet.merge_cells(ref)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def contacts(source_id: str) -> list[dict[str, str]]:
    return SourceRecord.objects.get(source_id=source_id).attributes["contacts"]


def test_rows_under_a_merged_name_are_one_customer_with_their_contacts():
    job = run_import(merged_xlsx(), "联系人.xlsx")
    assert job.status == "done", job.error
    assert (job.created_count, job.joined_count, job.failed_count) == (2, 2, 0)
    assert job.processed_rows == 4
    record = SourceRecord.objects.get(source_id="C1")
    assert record.attributes["legal_name"] == "北京华盛科技有限公司"
    assert record.attributes["phones"] == ["13800138000", "13900139000", "13700137000"]
    assert record.attributes["emails"] == ["wang@hs.cn", "zhao@hs.cn"]
    assert contacts("C1") == [
        {"name": "王伟", "title": "总经理", "phone": "", "email": ""},
        {"name": "李娜", "title": "采购", "phone": "", "email": ""},
        {"name": "赵敏", "title": "", "phone": "", "email": ""},
    ]
    assert [c["name"] for c in contacts("C2")] == ["钱进"]
    assert not ImportRowError.objects.exists()


def test_importing_the_merged_sheet_again_changes_nothing():
    run_import(merged_xlsx(), "联系人.xlsx")
    again = run_import(merged_xlsx(), "联系人.xlsx")
    assert (again.created_count, again.updated_count, again.unchanged_count) == (
        0,
        0,
        2,
    )
    assert again.joined_count == 2


def test_a_contact_added_under_the_merged_name_updates_the_customer():
    run_import(merged_xlsx(), "联系人.xlsx")
    rows = [*ROWS[:3], [None, None, "孙丽", "财务", "13500135000", None, None], ROWS[3]]
    job = run_import(merged_xlsx(rows, ["A3:A6", "B3:B6"]), "联系人.xlsx")
    assert (job.updated_count, job.unchanged_count, job.joined_count) == (1, 1, 3)
    assert [c["name"] for c in contacts("C1")] == ["王伟", "李娜", "赵敏", "孙丽"]


@override_settings(IMPORT_FAST_XLSX_MAX_CELLS=1)
def test_a_sheet_streamed_by_openpyxl_reads_its_merges_too():
    job = run_import(merged_xlsx(), "联系人.xlsx")
    assert (job.created_count, job.joined_count) == (2, 2)
    assert len(contacts("C1")) == 3


def test_an_xls_with_merged_cells_joins_the_rows_too():
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("客户")
    for c, name in enumerate(HEADER):
        sheet.write(0, c, name)
    for r, row in enumerate(ROWS, start=1):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    sheet.merge(1, 3, 0, 0)
    sheet.merge(1, 3, 1, 1)
    out = io.BytesIO()
    book.save(out)
    job = run_import(out.getvalue(), "联系人.xls")
    assert (job.created_count, job.joined_count, job.failed_count) == (2, 2, 0)
    assert len(contacts("C1")) == 3


@pytest.mark.parametrize("target", ["xls", "ods", "html"])
def test_what_libreoffice_saves_keeps_the_merges(tmp_path, target):
    # .xls and .ods: merged cells; "save as web page" (as web reports'
    # "Excel" exports are): rowspan.
    saved = files.libreoffice_copy(merged_xlsx(), target, tmp_path)
    job = run_import(saved, f"contacts.{target}")
    assert (job.created_count, job.joined_count, job.failed_count) == (2, 2, 0)
    assert [c["name"] for c in contacts("C1")] == ["王伟", "李娜", "赵敏"]


def test_an_excel_2003_xml_sheet_merged_down_joins_the_rows_too():
    def cells(row):
        return "".join(
            f'<Cell ss:Index="{c}"><Data ss:Type="String">{v}</Data></Cell>'
            for c, v in enumerate(row, start=1)
            if v is not None
        )

    head = ROWS[0]
    first = (
        '<Cell ss:MergeDown="2"><Data ss:Type="String">C1</Data></Cell>'
        f'<Cell ss:MergeDown="2"><Data ss:Type="String">{head[1]}</Data></Cell>'
        + cells([None, None, *head[2:]])
    )
    rows = [cells(HEADER), first, *(cells(row) for row in ROWS[1:])]
    content = (
        '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'
        '<Worksheet ss:Name="客户"><Table>'
        + "".join(f"<Row>{row}</Row>" for row in rows)
        + "</Table></Worksheet></Workbook>"
    )
    job = run_import(content.encode(), "联系人.xml")
    assert (job.created_count, job.joined_count, job.failed_count) == (2, 2, 0)
    assert [c["name"] for c in contacts("C1")] == ["王伟", "李娜", "赵敏"]


def test_rows_with_ids_of_their_own_under_a_merged_name_are_customers_each():
    # One company, three accounts: the merged name belongs to each.
    rows = [
        ["A-1", "北京华盛科技有限公司", "王伟", None, "13800138000", None, None],
        ["A-2", None, "李娜", None, "13900139000", None, None],
        ["A-3", None, "赵敏", None, "13700137000", None, None],
    ]
    job = run_import(merged_xlsx(rows, ["B3:B5"]), "账户.xlsx")
    assert (job.created_count, job.joined_count, job.failed_count) == (3, 0, 0)
    names = SourceRecord.objects.values_list("source_id", "attributes__legal_name")
    assert sorted(names) == [
        ("A-1", "北京华盛科技有限公司"),
        ("A-2", "北京华盛科技有限公司"),
        ("A-3", "北京华盛科技有限公司"),
    ]


def test_rows_under_a_merged_id_are_its_customer_whatever_their_name_cells():
    # The ID merged down, the name typed again on each row: still one
    # customer (not one key three times, the last row overwriting the others).
    rows = [list(row) for row in ROWS]
    rows[1][1] = rows[2][1] = rows[0][1]
    job = run_import(merged_xlsx(rows, ["A3:A5"]), "联系人.xlsx")
    assert (job.created_count, job.joined_count, job.failed_count) == (2, 2, 0)
    assert [c["name"] for c in contacts("C1")] == ["王伟", "李娜", "赵敏"]


def test_without_an_id_column_the_merged_rows_are_the_first_rows_customer():
    header = HEADER[1:]
    rows = [row[1:] for row in ROWS]
    job = run_import(merged_xlsx(rows, ["A3:A5"], header), "名单.xlsx")
    assert (job.created_count, job.joined_count) == (2, 2)
    assert len(contacts("名单#3")) == 3
    assert not SourceRecord.objects.filter(source_id="名单#4").exists()


def test_a_row_whose_tax_id_differs_from_its_merged_customers_is_reported():
    rows = [list(row) for row in ROWS]
    rows[0][6] = "91110108MA01KPGK0L"
    rows[2][6] = "91310115MA1K3YJ12X"
    job = run_import(merged_xlsx(rows), "联系人.xlsx")
    assert (job.created_count, job.joined_count, job.failed_count) == (2, 1, 1)
    error = ImportRowError.objects.get()
    assert (error.row, error.code) == (5, "merged_conflict")
    assert "税号" in error.message
    assert [c["name"] for c in contacts("C1")] == ["王伟", "李娜"]
    report = openpyxl.load_workbook(io.BytesIO(import_error_report(job=job)))
    assert "赵敏" in [cell.value for cell in report.active[2]]


def test_a_contact_rows_own_entry_date_leaves_the_customers_first_one():
    header = [*HEADER, "录入日期"]
    days = ["2021/3/5", "2022/1/9", None, "2020/5/1"]
    rows = [[*row, day] for row, day in zip(ROWS, days, strict=True)]
    job = run_import(merged_xlsx(rows, header=header), "联系人.xlsx")
    assert (job.created_count, job.joined_count, job.failed_count) == (2, 2, 0)
    created = SourceRecord.objects.get(source_id="C1").source_created_at
    assert localtime(created).date().isoformat() == "2021-03-05"


def test_rows_merged_with_a_rejected_row_are_rejected_with_it():
    rows = [list(row) for row in ROWS]
    rows[0][4] = 138.5  # not a phone: the customer's first row is rejected
    job = run_import(merged_xlsx(rows), "联系人.xlsx")
    codes = sorted(ImportRowError.objects.values_list("row", "code"))
    assert codes == [
        (3, "bad_phones"),
        (4, "merged_with_rejected"),
        (5, "merged_with_rejected"),
    ]
    assert (job.created_count, job.joined_count, job.failed_count) == (1, 0, 3)
    assert not SourceRecord.objects.filter(source_id="C1").exists()


def test_all_or_nothing_mode_counts_the_merged_rows_as_rows():
    job = run_import(merged_xlsx(), "联系人.xlsx", mode=ImportJob.Mode.ALL_OR_NOTHING)
    assert (job.created_count, job.joined_count, job.processed_rows) == (2, 2, 4)


def test_the_import_page_tells_how_many_rows_were_joined(steward_client):
    upload(steward_client, merged_xlsx(), "联系人.xlsx")
    job = ImportJob.objects.get()
    import_job_confirm(job=job, mapping=job.mapping)
    import_job_run(job=job)
    page = steward_client.get(
        reverse("import_progress", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "并入上方客户的行（客户名称单元格向下合并）: 2" in page


def test_an_xlsb_written_by_sheetjs_joins_its_merged_rows():
    # Compact cell records (calamine skips them) and merges calamine does
    # not read from an .xlsb: the whole list, one customer per merge.
    content = (files.FIXTURE_FILES / "sheetjs_contacts.xlsb").read_bytes()
    job = run_import(content, "联系人.xlsb", sheet="联系人")
    assert (job.format, job.created_count, job.joined_count) == ("xlsb", 2, 2)
    assert [c["name"] for c in contacts("C1")] == ["王伟", "李娜", "赵敏"]
    assert SourceRecord.objects.get(source_id="C2").name == "上海东方贸易有限公司"


def test_an_xls_written_by_apache_poi_joins_its_merged_rows():
    # As a Java ERP's export writes it: phones as numbers, formatted dates.
    content = (files.FIXTURE_FILES / "poi_contacts.xls").read_bytes()
    job = run_import(content, "客户联系人.xls")
    assert (job.format, job.header_row) == ("xls", 2)
    assert (job.created_count, job.joined_count, job.failed_count) == (2, 2, 0)
    record = SourceRecord.objects.get(source_id="C1")
    assert record.attributes["phones"] == ["13800138000", "13900139000", "13700137000"]
    assert record.attributes["uscc"] == "91110108MA01KPGK0L"
    assert localtime(record.source_created_at).date().isoformat() == "2021-03-05"
    assert [c["name"] for c in contacts("C1")] == ["王伟", "李娜", "赵敏"]
