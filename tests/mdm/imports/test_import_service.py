import io
import json

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.timezone import localtime
from openpyxl import Workbook, load_workbook

from mdm.models import CrossReference, ImportJob, SourceRecord, SourceSystem
from mdm.services.import_reports import import_error_report
from mdm.services.imports import (
    ImportRejected,
    import_job_confirm,
    import_job_create,
    import_job_run,
)
from tests.importing import files

pytestmark = pytest.mark.django_db

HEADER = ["客户编号", "客户名称", "联系电话", "税号", "地址", "录入日期"]
ROWS = [
    [
        "L-1",
        "北京华盛科技有限公司",
        13800138000,
        "91110108MA01KPGK0L",
        "北京市朝阳区建国路88号",
        "2021/3/5",
    ],
    [
        "L-2",
        "上海明远贸易有限公司",
        "021-5555 0000",
        "",
        "上海市浦东新区世纪大道100号",
        "2021年3月6日",
    ],
    ["L-3", "广州恒通物流有限公司", "020-8888 1234", "", "", "2021-03-07"],
]


def xlsx(rows, title=True) -> bytes:
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append(["2019年客户名单"])
        sheet.merge_cells("A1:F1")
        sheet.append([])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def gbk_csv(rows) -> bytes:
    lines = [",".join(HEADER)] + [",".join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def run_import(content, filename, **options):
    system = SourceSystem.objects.get(code="legacy")
    job = import_job_create(
        system=system, content=content, filename=filename, **options
    )
    import_job_confirm(job=job, mapping=job.mapping)
    return import_job_run(job=job)


def test_it_finds_the_header_below_title_rows_and_imports_every_row():
    job = run_import(xlsx(ROWS), "客户名单.xlsx")
    assert job.status == "done", job.error
    assert (job.header_row, job.created_count, job.failed_count) == (3, 3, 0)
    record = SourceRecord.objects.get(source_id="L-1")
    assert record.attributes["legal_name"] == "北京华盛科技有限公司"
    assert record.attributes["phones"] == ["13800138000"]  # never 1.38e10
    assert localtime(record.source_created_at).date().isoformat() == "2021-03-05"
    assert CrossReference.objects.count() == 3


def test_a_gbk_csv_is_detected_and_decoded():
    job = run_import(gbk_csv(ROWS), "customers.csv")
    assert (job.format, job.encoding.lower()) == ("csv", "gb18030")
    assert SourceRecord.objects.get(source_id="L-2").name == "上海明远贸易有限公司"


def test_cells_an_exporter_kept_text_for_excel_are_imported_as_their_text():
    lines = [
        ",".join(HEADER),
        '="00123",="北京华盛科技有限公司",="013800138000",,,="2021-03-05"',
        "'00124,上海明远贸易有限公司,'+86 21 5555 0000,,,'2021/3/6",
    ]
    job = run_import("\r\n".join(lines).encode(), "export.csv")
    assert (job.created_count, job.failed_count) == (2, 0)
    first, second = SourceRecord.objects.order_by("source_id")
    assert (first.source_id, first.name) == ("00123", "北京华盛科技有限公司")
    assert first.attributes["phones"] == ["013800138000"]
    assert localtime(first.source_created_at).date().isoformat() == "2021-03-05"
    assert (second.source_id, second.attributes["phones"]) == (
        "00124",
        ["+86 21 5555 0000"],
    )


def test_column_names_again_below_the_header_are_reported_not_imported():
    # A second header row in English, then the header again at a page break.
    lines = [
        ",".join(HEADER),
        "Customer No,Customer Name,Phone,Tax ID,Address,Created",
        *(",".join(str(c) for c in row) for row in ROWS[:2]),
        ",".join(HEADER),
        ",".join(str(c) for c in ROWS[2]),
    ]
    job = run_import("\r\n".join(lines).encode("utf-8"), "report.csv")
    assert (job.created_count, job.failed_count) == (3, 2)
    assert list(job.row_errors.values_list("row", "code")) == [
        (2, "header_row"),
        (5, "header_row"),
    ]
    assert SourceRecord.objects.filter(name__in=HEADER + ["Customer Name"]).count() == 0


def test_an_import_templates_notes_are_reported_not_imported():
    lines = [
        "填表说明：带*为必填项，日期格式为2021-03-05",
        "*客户编号,*客户名称,联系电话,税号,地址,录入日期",
        "必填,必填,选填,选填,选填,日期",
        "示例,北京示例科技有限公司,010-12345678,,,2021-01-01",
        ",".join(str(c) for c in ROWS[0]),
    ]
    job = run_import("\r\n".join(lines).encode("utf-8"), "template.csv")
    assert (job.header_row, job.created_count, job.failed_count) == (2, 1, 2)
    assert list(job.row_errors.values_list("row", "code")) == [
        (3, "header_row"),
        (4, "summary_row"),
    ]
    assert SourceRecord.objects.get().source_id == "L-1"


def test_a_web_report_saved_as_xls_is_imported_like_a_sheet():
    page = files.html_table([HEADER, *ROWS], title="客户报表", charset="gb2312")
    job = run_import(page, "客户报表.xls")
    assert (job.format, job.encoding, job.header_row) == ("html", "gb18030", 2)
    assert (job.created_count, job.failed_count) == (3, 0)
    record = SourceRecord.objects.get(source_id="L-2")
    assert record.attributes["legal_name"] == "上海明远贸易有限公司"
    assert localtime(record.source_created_at).date().isoformat() == "2021-03-06"
    again = run_import(page, "客户报表.xls")
    assert (again.created_count, again.updated_count, again.unchanged_count) == (
        0,
        0,
        3,
    )


def test_an_excel_2003_xml_workbook_is_imported_from_its_visible_sheet():
    workbook = files.spreadsheet_xml([HEADER, *ROWS], title="2019年客户名单")
    job = run_import(workbook, "客户名单.xls")
    assert (job.format, job.sheet, job.header_row) == ("xml2003", "客户", 3)
    assert (job.created_count, job.failed_count) == (3, 0)
    record = SourceRecord.objects.get(source_id="L-1")
    assert record.attributes["phones"] == ["13800138000"]  # a Number cell
    assert localtime(record.source_created_at).date().isoformat() == "2021-03-05"


def test_an_excel_binary_workbook_is_imported_and_imported_again_unchanged():
    rows = [[c if c != "" else None for c in row] for row in ROWS]
    workbook = files.xlsb([["2019年客户名单"], [None], HEADER, *rows])
    job = run_import(workbook, "客户名单.xlsb")
    assert (job.format, job.sheet, job.header_row) == ("xlsb", "客户", 3)
    assert (job.created_count, job.failed_count) == (3, 0)
    record = SourceRecord.objects.get(source_id="L-1")
    assert record.attributes["phones"] == ["13800138000"]  # never 1.38e10
    assert localtime(record.source_created_at).date().isoformat() == "2021-03-05"
    again = run_import(workbook, "客户名单.xlsb")
    assert (again.created_count, again.unchanged_count) == (0, 3)


def test_english_names_and_modification_dates_are_imported():
    header = ["客户编码", "客户名称", "英文名称", "修改日期"]
    rows = [["K-1", "北京华盛科技有限公司", "Beijing Huasheng Technology", "2024/5/6"]]
    sheet = files.xlsx([header, *rows])
    job = run_import(sheet, "金蝶客户.xlsx")
    assert (job.created_count, job.failed_count) == (1, 0)
    record = SourceRecord.objects.get(source_id="K-1")
    assert record.attributes["english_name"] == "Beijing Huasheng Technology"
    assert record.attributes["legal_name"] == "北京华盛科技有限公司"
    assert localtime(record.source_updated_at).date().isoformat() == "2024-05-06"


def test_importing_the_same_file_again_changes_nothing():
    run_import(xlsx(ROWS), "客户名单.xlsx")
    history = SourceRecord.history.count()
    again = run_import(xlsx(ROWS), "客户名单.xlsx")
    assert (again.created_count, again.updated_count, again.unchanged_count) == (
        0,
        0,
        3,
    )
    assert SourceRecord.history.count() == history
    assert SourceRecord.objects.count() == 3


def test_a_corrected_file_updates_only_what_changed():
    run_import(xlsx(ROWS), "客户名单.xlsx")
    corrected = [list(r) for r in ROWS]
    corrected[1][2] = "021-6666 0000"
    job = run_import(xlsx(corrected), "客户名单.xlsx")
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 2)
    assert SourceRecord.objects.get(source_id="L-2").history.count() == 2


def test_without_an_id_column_the_file_and_row_number_are_the_key():
    rows = [r[1:] for r in ROWS]
    system = SourceSystem.objects.get(code="legacy")
    content = xlsx([[None, *r] for r in rows])
    job = import_job_create(system=system, content=content, filename="名单.xlsx")
    mapping = {h: f for h, f in job.mapping.items() if f != "source_id"}
    import_job_confirm(job=job, mapping=mapping)
    import_job_run(job=job)
    assert set(SourceRecord.objects.values_list("source_id", flat=True)) == {
        "名单#4",
        "名单#5",
        "名单#6",
    }


def test_bad_rows_are_reported_and_good_rows_still_go_in():
    rows = ROWS + [
        ["L-4", "", "010-1234 5678", "", "", ""],
        ["L-5", "深圳新星电子有限公司", "", "", "", "2021-02-30"],
    ]
    job = run_import(xlsx(rows), "客户名单.xlsx")
    assert (job.status, job.created_count, job.failed_count) == ("done", 3, 2)
    errors = {(e.row, e.code) for e in job.row_errors.all()}
    assert errors == {(7, "missing_name"), (8, "bad_date")}
    with translation.override("en"):
        report = load_workbook(io.BytesIO(import_error_report(job=job)))
    lines = list(report.active.values)
    assert lines[0][:6] == (
        "row",
        "column",
        "code",
        "problem",
        "reason",
        "original values",
    )
    assert {(line[0], line[2]) for line in lines[1:]} == errors
    assert any(line[1] == "录入日期" for line in lines[1:])
    assert {line[2]: line[3] for line in lines[1:]} == {
        "missing_name": "The customer name is empty.",
        "bad_date": "A date that cannot be read.",
    }
    # In the reader's language (the pages' default: Simplified Chinese).
    with translation.override("zh-hans"):
        report = load_workbook(io.BytesIO(import_error_report(job=job)))
    assert report.active.title == "错误"
    lines = list(report.active.values)
    assert lines[0][:4] == ("行", "列", "代码", "问题")
    assert {line[2]: line[3] for line in lines[1:]} == {
        "missing_name": "客户名称为空。",
        "bad_date": "日期无法识别。",
    }


def test_totals_and_sign_off_lines_are_reported_not_imported():
    rows = ROWS + [["合计", "3家", None, None, None, None], ["制表人：张三"]]
    job = run_import(xlsx(rows), "客户名单.xlsx")
    assert (job.created_count, job.failed_count) == (3, 2)
    errors = {(e.row, e.code) for e in job.row_errors.all()}
    assert errors == {(7, "summary_row"), (8, "summary_row")}
    assert not SourceRecord.objects.filter(name="3家").exists()


def test_a_group_of_columns_named_in_a_second_header_row_is_imported():
    book = Workbook()
    sheet = book.active
    sheet.append(["客户编号", "客户名称", "联系方式", None, "地址"])
    sheet.append([None, None, "电话", "邮箱", None])
    for cells in [("A1", "A2"), ("B1", "B2"), ("C1", "D1"), ("E1", "E2")]:
        sheet.merge_cells(":".join(cells))
    sheet.append(["L-1", "北京华盛科技有限公司", "13800138000", "a@hs.cn", "北京"])
    out = io.BytesIO()
    book.save(out)
    job = run_import(out.getvalue(), "台账.xlsx")
    assert (job.header_row, job.created_count, job.failed_count) == (2, 1, 0)
    record = SourceRecord.objects.get(source_id="L-1")
    assert (record.attributes["phones"], record.attributes["emails"]) == (
        ["13800138000"],
        ["a@hs.cn"],
    )


def test_two_columns_with_one_name_both_go_in():
    book = Workbook()
    book.active.append(["客户编号", "客户名称", "电话", "电话"])
    book.active.append(["D-1", "北京华盛科技有限公司", "010-62345678", "13800138000"])
    out = io.BytesIO()
    book.save(out)
    run_import(out.getvalue(), "两个电话.xlsx")
    record = SourceRecord.objects.get(source_id="D-1")
    assert record.attributes["phones"] == ["010-62345678", "13800138000"]


def test_all_or_nothing_mode_writes_nothing_when_one_row_is_bad():
    rows = ROWS + [["L-4", "", "", "", "", ""]]
    job = run_import(xlsx(rows), "客户名单.xlsx", mode=ImportJob.Mode.ALL_OR_NOTHING)
    assert job.status == "failed"
    assert "nothing was imported" in job.error
    assert SourceRecord.objects.count() == 0
    assert job.row_errors.get().code == "missing_name"


def test_an_import_run_twice_after_a_crash_ends_with_no_duplicates():
    system = SourceSystem.objects.get(code="legacy")
    job = import_job_create(system=system, content=xlsx(ROWS), filename="a.xlsx")
    import_job_confirm(job=job, mapping=job.mapping)
    import_job_run(job=job)
    job.refresh_from_db()
    rerun = import_job_run(job=job)
    assert (rerun.unchanged_count, SourceRecord.objects.count()) == (3, 3)


def test_a_file_that_is_not_a_spreadsheet_is_refused_and_nothing_is_stored():
    from mdm.importing import ImportFileError

    system = SourceSystem.objects.get(code="legacy")
    with pytest.raises(ImportFileError):
        import_job_create(system=system, content=b"%PDF-1.7\n...", filename="x.xlsx")
    assert ImportJob.objects.count() == 0


def test_a_mapping_without_a_name_column_is_refused():
    system = SourceSystem.objects.get(code="legacy")
    job = import_job_create(system=system, content=xlsx(ROWS), filename="a.xlsx")
    with (
        translation.override("zh-hans"),
        pytest.raises(ImportRejected, match="客户名称"),
    ):
        import_job_confirm(job=job, mapping={"联系电话": "phones"})


def run_erp_json_lines(lines: list[str], filename: str) -> ImportJob:
    system = SourceSystem.objects.get(code="erp")
    job = import_job_create(
        system=system, content="\n".join(lines).encode(), filename=filename
    )
    import_job_confirm(job=job, mapping={})  # JSON Lines: the system's preset
    return import_job_run(job=job)


def test_json_lines_of_erp_payloads_use_the_systems_preset():
    lines = [
        '{"FNumber": "C-1", "FName": "北京华盛科技有限公司", "FTel": "010-65521234"}',
        "{broken",
        '{"FNumber": "C-2", "FName": "上海明远贸易有限公司"}',
    ]
    job = run_erp_json_lines(lines, "export.txt")
    assert (job.format, job.created_count, job.failed_count) == ("jsonl", 2, 1)
    assert job.row_errors.get().row == 2
    assert SourceRecord.objects.get(source_id="C-1").attributes["phones"] == [
        "010-65521234"
    ]


def test_json_lines_written_by_pandas_keep_whole_numbers_whole():
    lines = [
        '{"FNumber":1001.0,"FName":"北京华盛科技有限公司","FTel":13800138000.0}',
        '{"FNumber":1002.0,"FName":"上海明远贸易有限公司","FTel":null}',
    ]
    job = run_erp_json_lines(lines, "df.to_json.jsonl")
    assert (job.created_count, job.failed_count) == (2, 0)
    record = SourceRecord.objects.get(source_id="1001")
    assert record.attributes["phones"] == ["13800138000"]


def test_a_navicat_json_export_of_erp_payloads_uses_the_systems_preset():
    records = [
        {"FNumber": "C-1", "FName": "北京华盛科技有限公司", "FTel": "010-65521234"},
        "not a record",
        {"FNumber": "C-2", "FName": "上海明远贸易有限公司"},
    ]
    export = json.dumps({"RECORDS": records}, ensure_ascii=False, indent=1)
    system = SourceSystem.objects.get(code="erp")
    job = import_job_create(system=system, content=export.encode(), filename="c.json")
    import_job_confirm(job=job, mapping={})  # records: the system's preset
    job = import_job_run(job=job)
    assert (job.format, job.total_rows) == ("json", 3)
    assert (job.created_count, job.failed_count) == (2, 1)
    assert job.row_errors.get().row == 2
    assert SourceRecord.objects.get(source_id="C-1").attributes["phones"] == [
        "010-65521234"
    ]


def test_a_json_line_holding_a_nul_is_a_row_error_and_the_others_go_in():
    # PostgreSQL stores no U+0000: the line is refused, naming its field.
    lines = [
        '{"FNumber": "C-1", "FName": "北京华盛科技有限公司"}',
        '{"FNumber": "C-2", "FName": "上海明远\\u0000贸易有限公司"}',
        '{"FNumber": "C-3", "FName": "广州天马物流有限公司"}',
    ]
    job = run_erp_json_lines(lines, "export.jsonl")
    assert (job.created_count, job.failed_count) == (2, 1)
    error = job.row_errors.get()
    assert (error.row, error.code) == (2, "nul_character")
    assert "FName" in error.message
    assert sorted(SourceRecord.objects.values_list("source_id", flat=True)) == [
        "C-1",
        "C-3",
    ]


def test_the_error_report_drops_control_characters_an_xlsx_cell_cannot_hold():
    rows = [["L-9", "\x01=HYPERLINK(1)", "010\x02", "", "", "2021/13/45"]]
    job = run_import(gbk_csv(ROWS + rows), "a.csv")
    assert job.failed_count == 1
    sheet = load_workbook(io.BytesIO(import_error_report(job=job))).active
    values = [cell.value for row in sheet.iter_rows(min_row=2) for cell in row]
    assert "'=HYPERLINK(1)" in values and "010" in values


def test_the_command_line_import_prints_a_summary(tmp_path, capsys):
    path = tmp_path / "客户.csv"
    path.write_bytes(gbk_csv(ROWS))
    call_command("import_customers", str(path), "--source", "legacy")
    printed = capsys.readouterr()
    assert "3 created, 0 updated, 0 unchanged, 0 rejected" in printed.out
    # Progress bars on stderr: the rows, then the records matching placed.
    assert "import: 100%" in printed.err and "3/3 [" in printed.err
    assert "match, batch: 100%" in printed.err


def test_a_key_repeated_in_the_file_is_one_record_holding_the_last_row():
    rows = [ROWS[0], [*ROWS[0][:2], "010-11112222", *ROWS[0][3:]]]
    job = run_import(xlsx(rows), "客户名单.xlsx")
    assert (job.created_count, job.updated_count, job.failed_count) == (1, 1, 0)
    record = SourceRecord.objects.get(source_id="L-1")
    assert record.attributes["phones"] == ["010-11112222"]
    assert record.history.count() == 2


def test_bulk_loading_writes_one_history_row_per_record():
    rows = [[f"L-{i}", f"测试{i}号科技有限公司", "", "", "", ""] for i in range(1200)]
    job = run_import(xlsx(rows, title=False), "big.xlsx", run_matching=False)
    assert job.created_count == 1200
    assert SourceRecord.history.filter(history_type="+").count() == 1200
