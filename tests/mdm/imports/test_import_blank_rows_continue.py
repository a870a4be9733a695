"""Rows with neither name nor ID under a customer's row: its contacts (a
sheet whose name cells were merged, saved as CSV), joined to it when the
import is told so, else rejected with a hint."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from mdm.models import ImportJob, ImportProfile, ImportRowError, SourceRecord
from mdm.services.import_profiles import (
    ImportOptions,
    import_job_confirm_with_profile,
    import_job_create_with_profile,
    import_profile_save_from_job,
)
from mdm.services.imports import import_job_rows_that_may_continue, import_job_run
from tests.importing import files
from tests.mdm.imports.test_import_merged_rows import HEADER, ROWS, merged_xlsx
from tests.mdm.imports.test_import_pages import upload
from tests.mdm.imports.test_import_service import run_import

pytestmark = pytest.mark.django_db

# LibreOffice's "Text CSV" filter: comma, double quote, GBK (its charset 85),
# as Excel on a Chinese Windows saves "CSV (逗号分隔)".
GBK_CSV = "csv:Text - txt - csv (StarCalc):44,34,85"
HINT = "rows without a name or ID continue the customer above"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def saved_csv(tmp_path) -> bytes:
    """The merged contact list as LibreOffice saves it as a GBK CSV: the
    merged ID and name cells are blank on the contacts' rows."""
    content = files.libreoffice_copy(merged_xlsx(), GBK_CSV, tmp_path)
    assert content.decode("gbk").splitlines()[3].startswith(",,李娜,")
    return content


def csv(*rows: list, header: list[str] = HEADER) -> bytes:
    lines = [header, *rows]
    text = "\n".join(",".join("" if c is None else str(c) for c in r) for r in lines)
    return (text + "\n").encode("utf-8")


def names(source_id: str) -> list[str]:
    record = SourceRecord.objects.get(source_id=source_id)
    return [c["name"] for c in record.attributes["contacts"]]


def errors() -> list[tuple[int, str]]:
    return sorted(ImportRowError.objects.values_list("row", "code"))


def uploaded(client, content: bytes, name: str) -> ImportJob:
    upload(client, content, name)
    return ImportJob.objects.get()


def page_text(client, view: str, job: ImportJob, language: str = "en") -> str:
    response = client.get(reverse(view, args=[job.pk]), HTTP_ACCEPT_LANGUAGE=language)
    return response.content.decode()


def confirmation(job: ImportJob) -> dict[str, str]:
    """The confirmation form's fields, the proposed mapping as it stands."""
    return {f"map::{header}": field or "" for header, field in job.mapping.items()}


def test_a_csv_saved_from_the_merged_sheet_joins_its_contact_rows_when_told(
    saved_csv,
):
    job = run_import(saved_csv, "联系人.csv", blank_rows_continue=True)
    assert job.encoding.lower() in ("gbk", "gb18030")
    assert (job.created_count, job.joined_count, job.failed_count) == (2, 2, 0)
    assert names("C1") == ["王伟", "李娜", "赵敏"]
    record = SourceRecord.objects.get(source_id="C1")
    assert record.attributes["phones"] == ["13800138000", "13900139000", "13700137000"]
    assert record.attributes["emails"] == ["wang@hs.cn", "zhao@hs.cn"]
    assert names("C2") == ["钱进"]
    assert SourceRecord.objects.count() == 2


def test_untold_the_rows_are_rejected_with_a_hint_and_a_second_import_joins_them(
    saved_csv,
):
    first = run_import(saved_csv, "联系人.csv")
    assert (first.created_count, first.failed_count) == (2, 2)
    assert errors() == [(4, "missing_name"), (5, "missing_name")]
    assert all(HINT in e.message for e in ImportRowError.objects.all())
    assert names("C1") == ["王伟"]

    again = run_import(saved_csv, "联系人.csv", blank_rows_continue=True)
    assert (again.updated_count, again.unchanged_count, again.joined_count) == (1, 1, 2)
    assert names("C1") == ["王伟", "李娜", "赵敏"]
    third = run_import(saved_csv, "联系人.csv", blank_rows_continue=True)
    assert (third.updated_count, third.unchanged_count) == (0, 2)


def test_a_row_without_an_id_column_continues_the_row_above():
    # No ID column: the key is the file's name and the first row's number.
    header = HEADER[1:]
    rows = [row[1:] for row in ROWS]
    content = ",".join(header) + "\n"
    content += "\n".join(",".join(c or "" for c in row) for row in rows) + "\n"
    job = run_import(content.encode(), "名单.csv", blank_rows_continue=True)
    assert (job.created_count, job.joined_count) == (2, 2)
    assert names("名单#2") == ["王伟", "李娜", "赵敏"]


def test_a_blank_row_whose_tax_id_differs_is_reported_as_not_the_customers():
    rows = [list(row) for row in ROWS]
    rows[0][6] = "91110108MA01KPGK0L"
    rows[2][6] = "91310115MA1K3YJ12X"
    job = run_import(csv(*rows), "联系人.csv", blank_rows_continue=True)
    assert (job.created_count, job.joined_count, job.failed_count) == (2, 1, 1)
    error = ImportRowError.objects.get()
    assert (error.row, error.code) == (4, "merged_conflict")
    assert "left blank under that customer's" in error.message
    assert "税号" in error.message
    assert names("C1") == ["王伟", "李娜"]


def test_blank_rows_under_a_rejected_customer_are_rejected_with_it():
    # Not a date: the customer's row is rejected.
    rows = [[*row, "2021/13/45" if n == 0 else None] for n, row in enumerate(ROWS)]
    content = csv(*rows, header=[*HEADER, "录入日期"])
    job = run_import(content, "联系人.csv", blank_rows_continue=True)
    assert errors() == [
        (2, "bad_date"),
        (3, "merged_with_rejected"),
        (4, "merged_with_rejected"),
    ]
    assert (job.created_count, job.joined_count) == (1, 0)


MIXED = [
    [None, None, "无主", None, "13500135000", None, None],  # nobody above
    *ROWS[:2],
    ["C9", None, "孙丽", None, "13300133000", None, None],  # an ID: its own
    ["合计", None, None, None, None, None, None],
    [None, None, "周正", None, "13200132000", None, None],  # under the totals
]
MIXED_ERRORS = [
    (2, "missing_name"),
    (5, "missing_name"),
    (6, "summary_row"),
    (7, "missing_name"),
]


def test_rows_with_an_id_or_above_every_customer_or_under_a_totals_line_stay_rejected():
    job = run_import(csv(*MIXED), "联系人.csv", blank_rows_continue=True)
    assert errors() == MIXED_ERRORS
    assert job.joined_count == 1
    assert names("C1") == ["王伟", "李娜"]


def test_the_hint_is_given_only_to_rows_with_a_customer_above():
    job = run_import(csv(*MIXED), "联系人.csv")
    assert errors() == [*MIXED_ERRORS[:1], (4, "missing_name"), *MIXED_ERRORS[1:]]
    hinted = ImportRowError.objects.filter(message__contains=HINT)
    assert list(hinted.values_list("row", flat=True)) == [4]
    assert import_job_rows_that_may_continue(job=job) == 1
    told = run_import(csv(*MIXED), "联系人.csv", blank_rows_continue=True)
    assert import_job_rows_that_may_continue(job=told) == 0


def test_the_choice_is_kept_in_a_profile_and_given_options_win_over_it():
    job = run_import(csv(*ROWS), "联系人.csv", blank_rows_continue=True)
    profile = import_profile_save_from_job(job=job, name="联系人名单")
    assert profile.blank_rows_continue is True
    system = profile.source_system
    by_profile = import_job_create_with_profile(
        system=system, content=csv(*ROWS), filename="联系人2.csv"
    )
    assert by_profile.profile_use.profile == profile
    assert by_profile.blank_rows_continue is True
    told_not = import_job_create_with_profile(
        system=system,
        content=csv(*ROWS),
        filename="联系人3.csv",
        options=ImportOptions(blank_rows_continue=False),
    )
    assert told_not.blank_rows_continue is False
    import_job_confirm_with_profile(
        job=told_not, mapping=told_not.mapping, blank_rows_continue=True
    )
    told_not.refresh_from_db()
    assert told_not.blank_rows_continue is True


def import_command(path, *flags: str) -> None:
    call_command(
        "import_customers", str(path), "--source", "legacy", "--no-match", *flags
    )


def test_the_command_line_takes_the_choice(tmp_path, capsys):
    path = tmp_path / "联系人.csv"
    path.write_bytes(csv(*ROWS))
    import_command(path, "--blank-rows-continue", "--save-profile", "联系人名单")
    out = capsys.readouterr().out
    assert "2 created" in out
    assert "2 rows joined to the customer above them" in out
    assert "left blank" in out
    assert ImportProfile.objects.get().blank_rows_continue is True
    import_command(path, "--no-blank-rows-continue")
    out = capsys.readouterr().out
    assert "2 rejected" in out
    assert "import the file again with --blank-rows-continue" in out


def test_the_confirmation_page_points_at_the_rows_and_takes_the_choice(
    steward_client,
):
    job = uploaded(steward_client, csv(*ROWS), "联系人.csv")
    page = page_text(steward_client, "import_detail", job)
    assert "2 example rows have neither a name nor an ID" in page
    assert 'name="blank_rows_continue"' in page
    form = confirmation(job)
    form["blank_rows_continue"] = "on"
    response = steward_client.post(reverse("import_confirm", args=[job.pk]), form)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.blank_rows_continue is True
    import_job_run(job=job)
    job.refresh_from_db()
    assert (job.created_count, job.joined_count) == (2, 2)
    progress = page_text(steward_client, "import_progress", job, "zh-hans")
    assert "并入上方客户的行（客户名称单元格向下合并或留空）: 2" in progress


def test_the_finished_import_points_at_the_rows_it_rejected_so(steward_client):
    job = uploaded(steward_client, csv(*ROWS), "联系人.csv")
    form = confirmation(job)
    steward_client.post(reverse("import_confirm", args=[job.pk]), form)
    import_job_run(job=job)
    for name in ("import_progress", "import_detail"):
        page = page_text(steward_client, name, job, "zh-hans")
        assert "有 2 条被拒绝的行既无名称也无编号" in page, name


def test_a_list_without_blank_rows_shows_no_notice(steward_client):
    job = uploaded(steward_client, csv(ROWS[0], ROWS[3]), "客户.csv")
    page = page_text(steward_client, "import_detail", job)
    assert 'name="blank_rows_continue"' in page
    assert "example row has neither" not in page
    assert "example rows have neither" not in page


def test_a_workbooks_merged_rows_show_their_customer_and_need_no_box(steward_client):
    job = uploaded(steward_client, merged_xlsx(), "联系人.xlsx")
    page = page_text(steward_client, "import_detail", job)
    # The examples as the import reads them: the name merged down is there.
    assert page.count("<td>北京华盛科技有限公司</td>") == 3
    assert "example rows have neither" not in page


def test_a_workbooks_rows_left_blank_get_the_notice(steward_client):
    job = uploaded(
        steward_client, merged_xlsx(merges=["A3:A4", "B3:B4"]), "联系人.xlsx"
    )
    page = page_text(steward_client, "import_detail", job)
    assert page.count("<td>北京华盛科技有限公司</td>") == 2
    assert "1 example row has neither a name nor an ID" in page
