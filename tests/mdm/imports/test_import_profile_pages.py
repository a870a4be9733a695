import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from mdm.models import ImportJob, ImportProfile
from mdm.services.import_profiles import import_profile_create
from tests.builders import make_system, make_user
from tests.mdm.imports.profiles import MAPPING, csv_bytes, save_profile
from tests.mdm.imports.test_import_pages import upload
from tests.mdm.imports.test_import_service import ROWS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(request):
    # The pages speak Chinese by default; these tests read the English text.
    for name in {"steward_client", "viewer_client"} & set(request.fixturenames):
        client = request.getfixturevalue(name)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


WITH_EMAIL = ["客户编号", "客户名称", "联系电话", "税号", "录入日期", "邮箱"]


def latest_job() -> ImportJob:
    return ImportJob.objects.latest("pk")


def confirm_form(job: ImportJob, **extra) -> dict[str, str]:
    form = {f"map::{header}": field or "" for header, field in job.mapping.items()}
    return {**form, **extra}


def confirm(client, job, **extra):
    return client.post(
        reverse("import_confirm", args=[job.pk]), confirm_form(job, **extra)
    )


def test_an_upload_is_pre_filled_from_the_best_profile_with_differences_marked(
    steward_client,
):
    save_profile("月度")
    rows = [[*row[:4], row[5], "a@b.cn"] for row in ROWS]  # no 地址, a new 邮箱
    response = upload(steward_client, csv_bytes(WITH_EMAIL, rows), "客户.csv")
    job = latest_job()
    page = steward_client.get(response["Location"]).content.decode()
    assert "月度" in page and "picked automatically" in page
    assert page.count('class="selected new-column"') == 1  # 邮箱
    assert (
        'class="messages missing-columns"' in page and "<strong>地址</strong>" in page
    )
    assert job.mapping["邮箱"] == "emails"
    assert job.mapping["客户编号"] == "source_id"
    # the profile it came from is the default to update
    assert f'<option value="{job.profile_use.profile_id}" selected>' in page


def test_the_importer_can_upload_without_a_profile(steward_client):
    save_profile("月度")
    upload(steward_client, csv_bytes(), "客户.csv", profile="none")
    job = latest_job()
    assert job.mapping["地址"] == "address"  # the synonyms, not the profile
    page = steward_client.get(reverse("import_detail", args=[job.pk])).content.decode()
    assert "pre-filled" not in page


def test_a_profile_of_another_source_cannot_be_chosen(steward_client):
    crm = import_profile_create(system=make_system("crm"), name="c", mapping=MAPPING)
    response = upload(steward_client, csv_bytes(), "客户.csv", profile=str(crm.pk))
    assert response.status_code == 400
    assert "is for source system crm" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_confirming_can_save_the_mapping_as_a_new_profile(steward_client, steward):
    upload(steward_client, csv_bytes(), "客户.csv")
    job = ImportJob.objects.get()
    response = confirm(
        steward_client,
        job,
        **{"map::地址": "", "profile_action": "new"},
        profile_name="月度",
    )
    assert response.status_code == 302
    profile = ImportProfile.objects.get()
    assert (profile.name, profile.mapping, profile.created_by) == (
        "月度",
        MAPPING,
        steward,
    )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    page = steward_client.get(response["Location"]).content.decode()
    assert "Mapping saved as profile 月度." in page


def test_confirming_can_update_a_profile(steward_client):
    profile = save_profile("月度")
    upload(steward_client, csv_bytes(), "客户.csv")
    job = latest_job()
    confirm(
        steward_client,
        job,
        **{"map::地址": "address"},
        profile_action="update",
        profile=str(profile.pk),
    )
    profile.refresh_from_db()
    assert profile.mapping["地址"] == "address"


def test_a_taken_name_is_refused_and_nothing_is_confirmed(steward_client):
    save_profile("月度")
    upload(steward_client, csv_bytes(), "客户.csv", profile="none")
    job = latest_job()
    response = confirm(
        steward_client,
        job,
        **{"map::地址": ""},
        profile_action="new",
        profile_name="月度",
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "already has a profile named 月度" in page
    # what the importer chose is still on the page
    assert '<option value="" selected>' in page.split('name="map::地址"')[1]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING
    assert ImportProfile.objects.count() == 1


def test_saving_without_a_name_is_refused(steward_client):
    upload(steward_client, csv_bytes(), "客户.csv")
    job = ImportJob.objects.get()
    response = confirm(steward_client, job, profile_action="new", profile_name=" ")
    assert response.status_code == 400
    assert ImportJob.objects.get().status == ImportJob.Status.PENDING


def test_a_forged_field_is_refused(steward_client):
    upload(steward_client, csv_bytes(), "客户.csv")
    job = ImportJob.objects.get()
    response = confirm(steward_client, job, **{"map::地址": "password"})
    assert response.status_code == 400
    assert ImportJob.objects.get().status == ImportJob.Status.PENDING


# The profile list and who may do what


def test_viewers_read_the_profiles_but_get_no_delete_button(viewer_client):
    save_profile("月度")
    page = viewer_client.get(reverse("import_profiles"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "月度" in text and "客户编号" in text
    assert "/delete/" not in text
    assert 'href="/imports/profiles/" aria-current="page"' in text  # in their menu


def test_stewards_see_a_delete_button(steward_client):
    profile = save_profile("月度")
    page = steward_client.get(reverse("import_profiles")).content.decode()
    assert reverse("import_profile_delete", args=[profile.pk]) in page


def test_a_viewer_cannot_delete_a_profile(viewer_client):
    profile = save_profile("月度")
    response = viewer_client.post(reverse("import_profile_delete", args=[profile.pk]))
    assert response.status_code == 403
    assert ImportProfile.objects.exists()


def test_a_steward_deletes_a_profile(steward_client, steward):
    profile = save_profile("月度")
    response = steward_client.post(reverse("import_profile_delete", args=[profile.pk]))
    assert response.status_code == 302
    assert not ImportProfile.objects.exists()
    assert ImportProfile.history.get(history_type="-").history_user == steward


def test_deleting_needs_a_post(steward_client):
    profile = save_profile("月度")
    response = steward_client.get(reverse("import_profile_delete", args=[profile.pk]))
    assert response.status_code == 405
    assert ImportProfile.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("import_profiles"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_writes_need_the_csrf_token(steward):
    profile = save_profile("月度")
    client = Client(enforce_csrf_checks=True)
    client.force_login(steward)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(reverse("import_profile_delete", args=[profile.pk]))
    assert response.status_code == 403
    assert ImportProfile.objects.exists()
    job = latest_job()  # the upload that saved the profile
    job.status = ImportJob.Status.PENDING
    job.save()
    response = client.post(
        reverse("import_confirm", args=[job.pk]),
        confirm_form(job, profile_action="new", profile_name="另一个"),
    )
    assert response.status_code == 403
    assert ImportProfile.objects.count() == 1


def test_the_profile_pages_speak_chinese_by_default(steward):
    save_profile("月度")
    client = Client()
    client.force_login(steward)
    page = client.get(reverse("import_profiles")).content.decode()
    assert "导入方案" in page and "读取选项" in page and "6 列" in page
    upload(client, csv_bytes(), "客户.csv")
    detail = client.get(reverse("import_detail", args=[latest_job().pk]))
    assert "映射已按方案 <strong>月度</strong> 预填" in detail.content.decode()


# The admin


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def admin_form(profile: ImportProfile, mapping) -> dict[str, str]:
    return {
        "source_system": str(profile.source_system_id),
        "name": profile.name,
        "mapping": json.dumps(mapping, ensure_ascii=False),
        "sheet": "",
        "encoding": "",
        "mode": "per_row",
        "uses-TOTAL_FORMS": "0",
        "uses-INITIAL_FORMS": "0",
    }


def test_the_admin_edits_a_profile_and_records_who(superuser_client):
    profile = save_profile("月度")
    url = reverse("admin:mdm_importprofile_change", args=[profile.pk])
    assert superuser_client.get(url).status_code == 200
    changed = {**MAPPING, "地址": "address"}
    response = superuser_client.post(url, admin_form(profile, changed))
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.mapping == changed
    assert profile.updated_by.username == "root"
    assert profile.history.latest().history_user.username == "root"


def test_the_admin_refuses_a_mapping_that_breaks_the_reading_rules(superuser_client):
    profile = save_profile("月度")
    url = reverse("admin:mdm_importprofile_change", args=[profile.pk])
    response = superuser_client.post(url, admin_form(profile, {"备注": "remarks"}))
    assert response.status_code == 200
    assert "is not an ID-card field" in response.content.decode()
    profile.refresh_from_db()
    assert profile.mapping == MAPPING
