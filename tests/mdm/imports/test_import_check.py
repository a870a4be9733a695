"""Checking a file before importing it: everything an import does, rolled
back, so that its counts and error report are exact and nothing is written;
then the check imported as it was read."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from mdm.models import (
    GoldenRecord,
    ImportJob,
    ImportProfile,
    MatchRun,
    OutboxEvent,
    SourceRecord,
    SourceSystem,
)
from mdm.services.import_profiles import (
    ImportOptions,
    ImportProfileError,
    import_job_create_with_profile,
    import_profile_create,
    import_profile_save_from_job,
)
from mdm.services.imports import (
    ImportRejected,
    import_job_confirm,
    import_job_import_checked,
    import_job_run,
)
from tests.mdm.imports.test_import_blank_rows_continue import confirmation, uploaded
from tests.mdm.imports.test_import_service import ROWS, run_import, xlsx
from tests.mdm.imports.test_import_sheets import same_columns

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """The services' messages as the English pages show them."""
    with translation.override("en"):
        yield


BAD_ROW = ["L-9", "", "010-1234 5678", "", "", ""]  # no name


def written() -> tuple[int, int, int, int]:
    return (
        SourceRecord.objects.count(),
        SourceRecord.history.count(),
        GoldenRecord.objects.count(),
        OutboxEvent.objects.count(),
    )


def counts(job: ImportJob) -> tuple[int, int, int, int]:
    return (
        job.created_count,
        job.updated_count,
        job.unchanged_count,
        job.failed_count,
    )


def test_a_check_counts_and_reports_what_an_import_would_do_and_writes_nothing():
    job = run_import(xlsx([*ROWS, BAD_ROW]), "客户名单.xlsx", mode="check")
    assert (job.status, job.processed_rows) == ("done", 4)
    assert counts(job) == (3, 0, 0, 1)
    assert list(job.row_errors.values_list("row", "code")) == [(7, "missing_name")]
    assert written() == (0, 0, 0, 0)
    assert not MatchRun.objects.exists()  # no matching after a check


def test_a_check_of_a_corrected_file_counts_its_changes_and_changes_nothing():
    run_import(xlsx(ROWS), "客户名单.xlsx")
    before = written()
    stored = SourceRecord.objects.get(source_id="L-2").attributes
    corrected = [list(row) for row in ROWS]
    corrected[1][2] = "021-6666 0000"
    job = run_import(xlsx(corrected), "客户名单.xlsx", mode="check")
    assert counts(job) == (0, 1, 2, 0)
    assert written() == before
    assert SourceRecord.objects.get(source_id="L-2").attributes == stored


def test_a_finished_check_is_imported_as_it_was_read():
    check = run_import(xlsx([*ROWS, BAD_ROW]), "客户名单.xlsx", mode="check")
    job = import_job_import_checked(job=check)
    assert (job.mode, job.status, job.part_of) == ("per_row", "queued", None)
    assert (job.file.name, job.mapping, job.header_row) == (
        check.file.name,
        check.mapping,
        check.header_row,
    )
    job = import_job_run(job=job)
    assert counts(job) == counts(check)
    assert SourceRecord.objects.count() == 3


def test_a_check_is_imported_once():
    check = run_import(xlsx(ROWS), "客户名单.xlsx", mode="check")
    job = import_job_import_checked(job=check)
    assert job.from_check == check
    with pytest.raises(ImportRejected, match=f"imported already: import {job.pk}"):
        import_job_import_checked(job=check)  # a second click
    assert ImportJob.objects.filter(from_check=check).count() == 1


def test_only_a_finished_check_can_be_imported():
    system = SourceSystem.objects.get(code="legacy")
    job = import_job_create_with_profile(
        system=system,
        content=xlsx(ROWS),
        filename="a.xlsx",
        options=ImportOptions(mode="check"),
    )
    with pytest.raises(ImportRejected, match="finished check"):
        import_job_import_checked(job=job)  # not run yet
    imported = run_import(xlsx(ROWS), "a.xlsx")
    with pytest.raises(ImportRejected, match="finished check"):
        import_job_import_checked(job=imported)
    assert ImportJob.objects.count() == 2


def test_a_workbooks_sheets_checked_together_are_imported_together():
    system = SourceSystem.objects.get(code="legacy")
    check = import_job_create_with_profile(
        system=system,
        content=same_columns(),
        filename="regions.xlsx",
        options=ImportOptions(mode="check"),
    )
    import_job_confirm(job=check, mapping=check.mapping, other_sheets=["华南"])
    other_check = ImportJob.objects.get(part_of=check)
    assert other_check.mode == "check"
    import_job_run(job=check)
    with pytest.raises(ImportRejected, match="finished check"):
        import_job_import_checked(job=check)  # 华南 not checked yet
    import_job_run(job=other_check)
    assert counts(other_check) == (2, 0, 0, 1)
    first = import_job_import_checked(job=other_check)
    second = ImportJob.objects.get(part_of=first)
    assert (first.sheet, second.sheet) == ("华东", "华南")
    for job in (first, second):
        import_job_run(job=job)
    assert counts(second) == counts(other_check)
    assert SourceRecord.objects.count() == 4


def test_a_profile_saved_from_a_check_imports_row_by_row():
    check = run_import(xlsx(ROWS), "客户名单.xlsx", mode="check")
    profile = import_profile_save_from_job(job=check, name="名单")
    assert profile.mode == ImportJob.Mode.PER_ROW
    with pytest.raises(ImportProfileError, match="cannot say to only check"):
        import_profile_create(
            system=check.source_system,
            name="检查",
            mapping=check.mapping,
            options=ImportOptions(mode="check"),
        )
    assert ImportProfile.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_page_checks_a_file_then_imports_it(steward_client):
    job = uploaded(steward_client, xlsx([*ROWS, BAD_ROW]), "客户名单.xlsx")
    job.mode = ImportJob.Mode.CHECK  # as chosen on the upload form
    job.save()
    page = steward_client.get(
        reverse("import_detail", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Check the file</button>" in page
    steward_client.post(reverse("import_confirm", args=[job.pk]), confirmation(job))
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    progress = steward_client.get(
        reverse("import_progress", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Checked only: nothing was written." in progress
    listed = steward_client.get(reverse("imports"), HTTP_ACCEPT_LANGUAGE="en")
    assert "checked only, nothing written" in listed.content.decode()
    assert "The rejected rows are left out." in progress
    assert SourceRecord.objects.count() == 0
    response = steward_client.post(reverse("import_checked_run", args=[job.pk]))
    imported = ImportJob.objects.get(mode="per_row")
    assert response["Location"] == reverse("import_detail", args=[imported.pk])
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    imported.refresh_from_db()
    assert (imported.status, counts(imported)) == ("done", (3, 0, 0, 1))
    page = steward_client.get(
        reverse("import_progress", args=[imported.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Checked only" not in page
    assert "import_checked_run" not in page and "/import/" not in page
    check_page = steward_client.get(
        reverse("import_progress", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    url = reverse("import_detail", args=[imported.pk])
    assert f'Imported: <a href="{url}">import {imported.pk}</a>.' in check_page
    assert "import-checked" not in check_page  # no second Import now


def test_the_upload_form_offers_the_check(steward_client):
    page = steward_client.get(reverse("imports"), HTTP_ACCEPT_LANGUAGE="en")
    assert '<option value="check">' in page.content.decode()


def test_the_command_checks_a_file(tmp_path, capsys):
    path = tmp_path / "客户名单.xlsx"
    path.write_bytes(xlsx([*ROWS, BAD_ROW]))
    report = tmp_path / "errors.xlsx"
    call_command(
        "import_customers",
        str(path),
        "--source=legacy",
        "--check",
        f"--errors-out={report}",
    )
    out = capsys.readouterr().out
    assert (
        "Checked only, nothing written; importing would give: 3 created, "
        "0 updated, 0 unchanged, 1 rejected"
    ) in out
    rows = list(load_workbook(io.BytesIO(report.read_bytes())).active.values)
    assert rows[1][:3] == (7, "客户名称", "missing_name")
    assert written() == (0, 0, 0, 0)
