import pytest
from django.utils import translation

from mdm.importing.readers import RawRow
from mdm.models import ImportJob, ImportProfile, ImportProfileUse, SourceRecord
from mdm.services.import_profiles import (
    AUTO_PICK_MIN_SCORE,
    ImportOptions,
    ImportProfileError,
    import_job_confirm_with_profile,
    import_profile_create,
    import_profile_delete,
    import_profile_fit,
    import_profile_pick,
    import_profile_update,
)
from mdm.services.imports import import_job_run
from tests.builders import make_system, make_user
from tests.mdm.imports.profiles import (
    MAPPING,
    csv_bytes,
    legacy,
    save_profile,
    upload,
    workbook,
)
from tests.mdm.imports.test_import_service import HEADER, ROWS, xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    # Messages for people are translated; these tests read the English ones.
    with translation.override("en"):
        yield


def rows(*lines) -> list[RawRow]:
    return [RawRow(number, list(cells)) for number, cells in enumerate(lines, 1)]


def profile_of(mapping, name="p") -> ImportProfile:
    return import_profile_create(system=legacy(), name=name, mapping=mapping)


# Saving


def test_a_confirmed_mapping_is_saved_with_its_ignored_columns_and_author():
    steward = make_user("alice")
    job = upload(csv_bytes(), profile=None)
    profile = import_job_confirm_with_profile(
        job=job, mapping=MAPPING, user=steward, save_as="  月度  客户 "
    )
    assert profile.name == "月度 客户"
    assert profile.mapping == MAPPING
    assert profile.ignored == ["地址"]
    assert (profile.created_by, profile.updated_by) == (steward, steward)
    assert (profile.sheet, profile.encoding, profile.mode) == ("", "", "per_row")
    assert profile.history.get().history_user == steward
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED


def test_a_mapping_is_saved_as_the_reader_applies_it():
    header = ["#", "客户名称", "电话", "电话："]
    job = upload(csv_bytes(header, [["1", "甲公司", "010-1", "010-2"]]), profile=None)
    assert job.mapping == {
        "#": None,
        "客户名称": "legal_name",
        "电话": "phones",
        "电话:": "phones",
    }
    profile = import_job_confirm_with_profile(job=job, mapping=job.mapping, save_as="p")
    # "#" has no letters or digits, "电话:" is "电话" to the reader
    assert profile.mapping == {"客户名称": "legal_name", "电话": "phones"}


def test_a_name_is_unique_per_source_system_only():
    save_profile("月度")
    with pytest.raises(ImportProfileError, match="already has a profile named 月度"):
        profile_of(MAPPING, name="月度")
    other = import_profile_create(
        system=make_system("crm"), name="月度", mapping=MAPPING
    )
    assert other.source_system.code == "crm"


def test_a_refused_profile_leaves_the_import_unconfirmed():
    save_profile("月度")
    job = upload(csv_bytes(), profile=None)
    with pytest.raises(ImportProfileError):
        import_job_confirm_with_profile(job=job, mapping=MAPPING, save_as="月度")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING
    assert job.mapping["地址"] == "address"  # the proposal, not the refused one


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({}, "at least one column"),
        ({"客户名称": "legal_name", "备注": "remarks"}, "'remarks' is not an ID-card"),
        ({"电话": "phones"}, "customer name"),
        ({"客户名称": "legal_name", "客户名称：": None}, "cannot be told apart"),
        ({"客户名称": "legal_name", "--": None}, "not a usable column name"),
    ],
)
def test_a_mapping_breaking_the_reading_rules_is_refused(mapping, message):
    with pytest.raises(ImportProfileError, match=message):
        profile_of(mapping)
    assert not ImportProfile.objects.exists()


def test_unknown_options_are_refused():
    with pytest.raises(ImportProfileError, match="encoding"):
        import_profile_create(
            system=legacy(),
            name="p",
            mapping=MAPPING,
            options=ImportOptions(encoding="klingon"),
        )


def test_an_update_replaces_the_mapping_and_keeps_history():
    profile = save_profile()
    steward = make_user("bob")
    changed = {**MAPPING, "地址": "address"}
    import_profile_update(
        profile=profile,
        mapping=changed,
        options=ImportOptions(mode="all_or_nothing"),
        user=steward,
    )
    profile.refresh_from_db()
    assert (profile.mapping, profile.mode, profile.updated_by) == (
        changed,
        "all_or_nothing",
        steward,
    )
    assert [h.mapping["地址"] for h in profile.history.order_by("history_id")] == [
        None,
        "address",
    ]


def test_a_profile_of_another_source_cannot_be_updated_from_an_import():
    crm = import_profile_create(system=make_system("crm"), name="c", mapping=MAPPING)
    job = upload(csv_bytes(), profile=None)
    with pytest.raises(ImportProfileError, match="another source system"):
        import_job_confirm_with_profile(job=job, mapping=MAPPING, update=crm)
    crm.refresh_from_db()
    assert crm.updated_by is None


def test_a_deleted_profile_is_in_history_and_its_imports_keep_its_name():
    profile = save_profile()
    job = upload(csv_bytes())
    steward = make_user("carol")
    import_profile_delete(profile=profile, user=steward)
    assert not ImportProfile.objects.exists()
    gone = ImportProfile.history.get(history_type="-")
    assert (gone.name, gone.history_user) == ("月度客户", steward)
    use = ImportProfileUse.objects.get(job=job)
    assert (use.profile, use.profile_name) == (None, "月度客户")


# Applying a profile to a file's headers


def test_a_profile_finds_known_new_and_missing_columns_below_title_rows():
    profile = profile_of(MAPPING)
    fit = import_profile_fit(
        profile=profile,
        rows=rows(
            ["2024年客户名单"],
            ["客户名称：", "客户编号", "联系电话", "邮箱", "备注"],
            ["北京华盛科技有限公司", "L-1", "13800138000", "a@b.cn", ""],
        ),
    )
    assert fit.header_row == 2
    # Headers come as the reader cleans them (NFKC) and match in header_key form.
    assert fit.found == ["客户名称:", "客户编号", "联系电话"]
    assert fit.new == ["邮箱", "备注"]
    assert fit.missing == ["税号", "地址", "录入日期"]
    assert fit.mapping == {
        "客户名称:": "legal_name",
        "客户编号": "source_id",
        "联系电话": "phones",
        "邮箱": "emails",  # proposed from the synonyms
        "备注": None,
    }
    assert fit.score == pytest.approx(3 / 8)
    assert fit.has_name


def test_a_new_column_does_not_take_a_field_the_profile_already_fills():
    profile = profile_of({"客户名称": "legal_name", "手机": "phones"})
    fit = import_profile_fit(
        profile=profile, rows=rows(["客户名称", "公司名称", "手机", "电话"])
    )
    assert fit.mapping == {
        "客户名称": "legal_name",
        "公司名称": None,  # a second name column would compete with the first
        "手机": "phones",
        "电话": "phones",  # phones may come from several columns
    }


def test_a_profile_sharing_no_header_fits_nothing():
    fit = import_profile_fit(profile=profile_of(MAPPING), rows=rows(["甲", "乙"]))
    assert (fit.header_row, fit.found, fit.score) == (None, [], 0.0)
    assert fit.missing == list(MAPPING)


# Picking a profile for an upload


def test_the_best_matching_profile_of_the_source_is_picked():
    profile_of({"客户名称": "legal_name", "电话": "phones"}, name="narrow")
    best = save_profile("full")
    import_profile_create(system=make_system("crm"), name="crm", mapping=MAPPING)
    fit = import_profile_pick(system=legacy(), source=csv_bytes())
    assert fit.profile == best
    assert fit.score == 1.0


def test_no_profile_is_picked_when_none_matches_well_enough():
    save_profile()
    header = ["客户名称", "客户编号", "联系人", "职务", "行业", "邮箱"]
    fit = import_profile_pick(
        system=legacy(), source=csv_bytes(header, [["甲公司", "1", "", "", "", ""]])
    )
    assert fit is None  # 2 shared of 10 headers
    assert 2 / 10 < AUTO_PICK_MIN_SCORE


def test_a_profile_whose_name_column_is_missing_is_not_picked():
    profile_of({"客户名称": "legal_name", "电话": "phones", "地址": "address"})
    header = ["公司名称", "电话", "地址"]
    content = csv_bytes(header, [["甲公司", "010-1", "北京"]])
    assert import_profile_pick(system=legacy(), source=content) is None


def test_json_lines_get_no_profile():
    save_profile()
    job = upload('{"客户名称": "甲公司"}\n'.encode())
    assert job.format == "jsonl"
    assert not ImportProfileUse.objects.exists()


def test_a_profile_cannot_be_chosen_for_records_the_systems_mapping_reads():
    profile = save_profile()
    with pytest.raises(ImportProfileError, match="field mapping"):
        upload('{"编号": "A-1", "客户名称": "甲公司"}\n'.encode(), profile=profile)


def test_a_profile_maps_json_records_read_as_columns():
    # No ID field the legacy mapping knows: the keys are columns.
    profile = save_profile()
    job = upload('{"客户名称": "甲公司", "电话": "010-1"}\n'.encode(), profile=profile)
    assert job.profile_use.profile_name == profile.name
    assert job.mapping["客户名称"] == "legal_name"


def test_each_profile_is_tried_on_its_own_sheet():
    sheets = {
        "说明": [["本文件由财务导出"]],
        "客户": [HEADER, *ROWS],
    }
    content = workbook(sheets)
    saved = save_profile("按表", content=content, options=ImportOptions(sheet="客户"))
    assert saved.sheet == "客户"  # the first visible sheet is 说明: an override
    job = upload(content)
    assert (job.sheet, job.profile_use.profile_name) == ("客户", "按表")


# Creating an import with a profile


def test_an_upload_is_pre_filled_from_the_picked_profile():
    save_profile()
    header = ["客户编号", "客户名称", "联系电话", "税号", "地址", "录入日期", "邮箱"]
    job = upload(csv_bytes(header, [[*ROWS[0], "a@b.cn"]]))
    assert job.mapping == {**MAPPING, "邮箱": "emails"}
    use = job.profile_use
    assert (use.how, use.new_columns, use.missing_columns) == ("auto", ["邮箱"], [])
    assert use.score == pytest.approx(6 / 7, abs=1e-4)


def test_the_profile_mapping_is_the_one_the_import_runs_with():
    save_profile()
    job = upload(xlsx(ROWS))  # the same columns, as .xlsx below title rows
    assert job.header_row == 3
    import_job_confirm_with_profile(job=job, mapping=job.mapping)
    job = import_job_run(job=job)
    assert (job.status, job.created_count) == ("done", 3), job.error
    assert all(not r.attributes["addresses"] for r in SourceRecord.objects.all())


def test_a_chosen_profile_sharing_no_column_is_refused_before_storing_anything():
    profile = profile_of({"Company": "legal_name"})
    with pytest.raises(ImportProfileError, match="None of the columns"):
        upload(csv_bytes(), profile=profile)
    assert not ImportJob.objects.exists()


def test_a_chosen_profile_of_another_source_is_refused():
    crm = import_profile_create(system=make_system("crm"), name="c", mapping=MAPPING)
    with pytest.raises(ImportProfileError, match="belongs to source system crm"):
        upload(csv_bytes(), profile=crm)


def test_no_profile_means_the_synonyms_propose_the_mapping():
    save_profile()
    job = upload(csv_bytes(), profile=None)
    assert job.mapping["地址"] == "address"
    assert not ImportProfileUse.objects.filter(job=job).exists()


def test_the_profile_options_apply_unless_the_upload_gives_its_own():
    profile = save_profile()
    import_profile_update(
        profile=profile,
        mapping=MAPPING,
        options=ImportOptions(encoding="gb18030", mode="all_or_nothing"),
    )
    job = upload(csv_bytes())
    assert (job.encoding, job.mode) == ("gb18030", "all_or_nothing")
    job = upload(csv_bytes(), options=ImportOptions(mode="per_row"))
    assert job.mode == "per_row"


def test_only_an_encoding_that_overrides_detection_is_remembered():
    detected = save_profile("detected")
    assert detected.encoding == ""  # GBK was detected: nothing to remember
    header = ["Customer Name", "Phone"]
    content = csv_bytes(header, [["Acme", "010-1"]], encoding="ascii")
    forced = save_profile(
        "forced",
        content=content,
        mapping={"Customer Name": "legal_name", "Phone": "phones"},
        options=ImportOptions(encoding="gb18030"),
    )
    assert forced.encoding == "gb18030"  # detection says UTF-8
