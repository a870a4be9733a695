import pytest
from django.urls import reverse

from mdm.models import GoldenRecord, OutboxEvent, SourceRecord
from tests.builders import make_golden, make_user

pytestmark = pytest.mark.django_db

MODELS = [
    "sourcesystem",
    "sourcerecord",
    "crossreference",
    "goldenrecord",
    "goldenidallocation",
    "stewarddecision",
    "reviewtask",
    "apiclient",
    "apitoken",
    "importjob",
    "matchrun",
    "outboxevent",
]


@pytest.fixture
def admin_client(client):
    client.force_login(make_user("admin", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_a_working_admin_list(admin_client, model):
    make_golden()
    response = admin_client.get(reverse(f"admin:mdm_{model}_changelist"))
    assert response.status_code == 200


def test_the_raw_payload_is_shown_read_only(admin_client):
    record = make_golden("北京华盛科技有限公司").xrefs.get().source_record
    response = admin_client.get(
        reverse("admin:mdm_sourcerecord_change", args=[record.pk])
    )
    assert response.status_code == 200
    assert "北京华盛科技有限公司" in response.content.decode()
    assert 'name="raw_payload"' not in response.content.decode()


def test_source_records_cannot_be_deleted_from_the_admin(admin_client):
    record = make_golden().xrefs.get().source_record
    response = admin_client.post(
        reverse("admin:mdm_sourcerecord_delete", args=[record.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert SourceRecord.objects.filter(pk=record.pk).exists()


def test_the_overview_requires_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_overview_counts_records(admin_client):
    make_golden()
    response = admin_client.get(reverse("home"))
    assert response.status_code == 200
    assert (
        response.context["overview"].golden_active == GoldenRecord.objects.count() == 1
    )


def test_append_only_rows_cannot_be_edited_from_the_admin(admin_client):
    make_golden()
    event = OutboxEvent.objects.get()
    response = admin_client.post(
        reverse("admin:mdm_outboxevent_change", args=[event.pk]), {"topic": "x"}
    )
    assert response.status_code == 403
