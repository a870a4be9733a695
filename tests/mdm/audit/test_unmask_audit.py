"""RELIABILITY W8: seeing personal data in full is the steward role's
permission, and every page that shows it is in the audit log; viewers see
it masked and leave no such row."""

import pytest
from django.urls import reverse

from mdm.models import AuditEvent
from tests.mdm.ui.helpers import golden_of, make_task

pytestmark = pytest.mark.django_db

PHONE = "13800138000"


@pytest.fixture
def task():
    return make_task({"FName": "北京华盛科技有限公司", "FTel": PHONE})


def unmasked_rows():
    return list(
        AuditEvent.objects.filter(action=AuditEvent.Action.UNMASK)
        .order_by("id")
        .values_list("actor", "object_type", "object_ref", "detail")
    )


def test_each_page_a_steward_sees_unmasked_is_audited(steward_client, task):
    golden = golden_of(task.left)
    pages = [
        reverse("golden", args=[golden.golden_id]),
        reverse("source_record", args=[task.left_id]),
        reverse("task", args=[task.pk]),
        reverse("search") + "?q=" + PHONE,
    ]
    for url in pages:
        response = steward_client.get(url)
        assert response.status_code == 200
        assert "138****8000" not in response.content.decode()
    assert unmasked_rows() == [
        ("alice", "golden", golden.golden_id, "golden record page"),
        ("alice", "source", task.left.key, "source record page"),
        ("alice", "source", task.left.key, f"review task {task.pk}"),
        ("alice", "source", task.right.key, f"review task {task.pk}"),
        ("alice", "golden", golden.golden_id, "search"),
    ]


def test_a_viewer_sees_masked_values_and_leaves_no_unmask_row(viewer_client, task):
    golden = golden_of(task.left)
    html = viewer_client.get(reverse("golden", args=[golden.golden_id])).content
    assert PHONE not in html.decode()
    assert "138****8000" in html.decode()
    assert unmasked_rows() == []
