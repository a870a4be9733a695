"""Login everywhere, roles, CSRF, and masking of personal data for viewers."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from mdm.models import CrossReference, GoldenRecord, ReviewTask, StewardDecision
from mdm.services.demo import demo_users_ensure
from mdm.services.golden_records import golden_record_merge
from tests.builders import make_user
from tests.mdm.ui.helpers import golden_of, make_task, versions_field

pytestmark = pytest.mark.django_db


@pytest.fixture
def task():
    return make_task(
        {
            "FName": "北京华盛科技有限公司",
            "FTel": "13800138000",
            "FEMail": "zhaobing@huasheng.cn",
            "FTaxRegisterCode": "91110108MA01KPGK0L",
            "FContact": "赵兵",
            "FContactTel": "13912345678",
        },
        {"FName": "华盛科技(北京)有限公司", "FTel": "010-65521234"},
    )


def pages(task: ReviewTask) -> list[str]:
    golden = golden_of(task.left)
    return [
        reverse("home"),
        reverse("queue"),
        reverse("task", args=[task.pk]),
        reverse("task_preview", args=[task.pk]),
        reverse("golden", args=[golden.golden_id]),
        reverse("source_record", args=[task.left_id]),
        reverse("search") + "?q=" + golden.golden_id,
        reverse("dashboard"),
    ]


def actions(task: ReviewTask, steward) -> list[str]:
    golden = golden_of(task.left)
    merged = golden_record_merge(
        survivor=golden_of(make_task().left),
        absorbed=[golden_of(make_task().left)],
        steward=steward,
        reason="for the unmerge URL",
    )
    decision = StewardDecision.objects.get(details__survivor=merged.golden_id)
    return [
        reverse("task_claim", args=[task.pk]),
        reverse("task_release", args=[task.pk]),
        reverse("task_assign", args=[task.pk]),
        reverse("task_merge", args=[task.pk]),
        reverse("task_not_a_match", args=[task.pk]),
        reverse("task_skip", args=[task.pk]),
        reverse("task_defer", args=[task.pk]),
        reverse("task_reopen", args=[task.pk]),
        reverse("queue_bulk") + "?min_score=0.5",
        reverse("golden_unmerge", args=[merged.golden_id, decision.pk]),
        reverse("golden_unpin", args=[golden.golden_id]),
        reverse("golden_pin", args=[golden.golden_id]),
        # Import pages are for stewards; the job id need not exist: the role
        # is checked before anything is looked up.
        reverse("imports"),
        reverse("import_detail", args=[1]),
        reverse("import_confirm", args=[1]),
        reverse("import_sheet", args=[1]),
        reverse("import_checked_run", args=[1]),
        reverse("import_progress", args=[1]),
        reverse("import_errors", args=[1]),
    ]


def test_every_page_requires_login(client, task):
    for url in pages(task):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


def test_the_login_page_logs_a_steward_in(client, steward):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()
    response = client.post(
        reverse("login"), {"username": "alice", "password": "a-long-test-password"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("queue")).status_code == 200


def test_viewers_read_every_page(viewer_client, task):
    for url in pages(task):
        assert viewer_client.get(url).status_code == 200, url


def test_a_user_without_a_role_reads_nothing(task):
    client = Client()
    client.force_login(make_user("nobody"))
    for url in pages(task):
        assert client.get(url).status_code == 403, url


def test_a_viewer_reaches_no_action_by_any_method(viewer_client, task, steward):
    urls = actions(task, steward)
    before = (
        list(ReviewTask.objects.values_list("pk", "status", "assignee")),
        list(CrossReference.objects.values_list("pk", "golden")),
        StewardDecision.objects.count(),
    )
    for url in urls:
        for method in (viewer_client.get, viewer_client.post):
            response = method(
                url, {"versions": versions_field(task), "keep": "left", "reason": "x"}
            )
            assert response.status_code == 403, (method, url)
    after = (
        list(ReviewTask.objects.values_list("pk", "status", "assignee")),
        list(CrossReference.objects.values_list("pk", "golden")),
        StewardDecision.objects.count(),
    )
    assert after == before


def test_a_viewer_sees_no_action_buttons(viewer_client, task):
    for url in (reverse("queue"), reverse("task", args=[task.pk])):
        html = viewer_client.get(url).content.decode()
        assert 'data-key="m"' not in html, url
        assert "csrfmiddlewaretoken" not in html.split("</header>")[1], url
        for name in ("task_merge", "task_claim", "task_skip", "queue_bulk"):
            assert reverse(
                name, args=[task.pk] if name != "queue_bulk" else []
            ) not in (html), (url, name)


def test_stewards_see_the_action_buttons(steward_client, task):
    html = steward_client.get(reverse("task", args=[task.pk])).content.decode()
    assert 'data-key="m"' in html
    assert reverse("task_merge", args=[task.pk]) in html


def test_a_viewer_sees_personal_data_masked_on_every_page(viewer_client, task):
    hidden = ["13800138000", "138 0013 8000", "91110108MA01KPGK0L", "zhaobing@"]
    for url in pages(task):
        html = viewer_client.get(url).content.decode()
        for value in hidden:
            assert value not in html, (url, value)
    task_page = viewer_client.get(reverse("task", args=[task.pk])).content.decode()
    assert "138****8000" in task_page
    assert "9111**********0L" in task_page
    assert "z***@huasheng.cn" in task_page
    payload = viewer_client.get(reverse("source_record", args=[task.left_id]))
    assert "139****5678" in payload.content.decode()


def test_a_steward_sees_personal_data_in_full(steward_client, task):
    html = steward_client.get(reverse("task", args=[task.pk])).content.decode()
    assert "+86 138 0013 8000" in html
    assert "91110108MA01KPGK0L" in html


def test_posts_need_a_csrf_token(steward, task):
    client = Client(enforce_csrf_checks=True)
    client.force_login(steward)
    response = client.post(reverse("task_skip", args=[task.pk]))
    assert response.status_code == 403
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.OPEN


def test_the_demo_has_a_viewer():
    demo_users_ensure()
    viewer = get_user_model().objects.get(username="viewer")
    assert viewer.check_password("golden-viewer-demo")
    assert list(viewer.groups.values_list("name", flat=True)) == ["viewers"]
    assert not viewer.is_staff
    assert GoldenRecord.objects.count() == 0
