import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from mdm.models import ImportJob, ImportProfile, SourceRecord
from mdm.services.import_profiles import ImportOptions, import_profile_update
from tests.mdm.imports.profiles import MAPPING, csv_bytes, save_profile
from tests.mdm.imports.test_import_service import ROWS, xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    # Messages for people are translated; these tests read the English ones.
    with translation.override("en"):
        yield


def run(path, *args) -> None:
    call_command(
        "import_customers", str(path), "--source", "legacy", "--no-match", *args
    )


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "客户.csv"
    path.write_bytes(csv_bytes())
    return path


def test_the_mapping_used_can_be_saved_as_a_profile(csv_file, tmp_path, capsys):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING, ensure_ascii=False), "utf-8")
    run(csv_file, "--mapping", str(mapping), "--save-profile", "月度")
    assert "Mapping saved as profile '月度'." in capsys.readouterr().out
    profile = ImportProfile.objects.get()
    assert (profile.source_system.code, profile.mapping) == ("legacy", MAPPING)
    assert profile.created_by is None  # no person behind a command line


def test_the_best_profile_maps_the_next_file(tmp_path, capsys):
    save_profile("月度")
    path = tmp_path / "客户名单.xlsx"
    path.write_bytes(xlsx(ROWS))
    run(path)
    out = capsys.readouterr().out
    assert "Columns mapped by profile '月度'." in out
    assert "地址 -> (ignored)" in out
    assert "3 created" in out
    assert all(not r.attributes["addresses"] for r in SourceRecord.objects.all())


def test_a_profile_can_be_named_and_its_differences_are_shown(tmp_path, capsys):
    save_profile("月度")
    header = ["客户编号", "客户名称", "联系电话", "邮箱"]
    path = tmp_path / "新格式.csv"
    path.write_bytes(csv_bytes(header, [["L-7", "甲公司", "010-1", "a@b.cn"]]))
    run(path, "--profile", "月度")
    out = capsys.readouterr().out
    assert "邮箱 -> emails  (new: not in the profile)" in out
    assert "税号 -- in the profile, not in the file" in out
    assert ImportJob.objects.latest("pk").profile_use.how == "chosen"


def test_an_unknown_profile_is_an_error_listing_the_known_ones(csv_file):
    save_profile("月度")
    with pytest.raises(CommandError, match=r"no profile '季度' \(it has: 月度\)"):
        run(csv_file, "--profile", "季度")


def test_no_profile_leaves_the_mapping_to_the_synonyms(csv_file):
    save_profile("月度")
    run(csv_file, "--no-profile")
    job = ImportJob.objects.latest("pk")
    assert job.mapping["地址"] == "address"
    assert not hasattr(job, "profile_use")


def test_saving_under_an_existing_name_updates_that_profile(csv_file):
    profile = save_profile("月度")
    run(csv_file, "--no-profile", "--save-profile", "月度", "--all-or-nothing")
    profile.refresh_from_db()
    assert (profile.mapping["地址"], profile.mode) == ("address", "all_or_nothing")
    assert ImportProfile.objects.count() == 1


def test_a_strict_profile_can_be_overridden_per_run(csv_file):
    profile = save_profile("月度")
    import_profile_update(
        profile=profile, mapping=MAPPING, options=ImportOptions(mode="all_or_nothing")
    )
    run(csv_file)
    assert ImportJob.objects.latest("pk").mode == "all_or_nothing"
    run(csv_file, "--per-row")
    assert ImportJob.objects.latest("pk").mode == "per_row"


def test_a_profile_and_a_mapping_file_exclude_each_other(csv_file, tmp_path):
    with pytest.raises(CommandError, match="not allowed with"):
        run(csv_file, "--profile", "月度", "--mapping", str(tmp_path / "m.json"))
