import pytest
from django.urls import reverse

from mdm.models import GoldenRecord, OutboxEvent
from mdm.services.golden_records import golden_record_recompute
from tests.builders import make_golden

pytestmark = pytest.mark.django_db


def pin(client, golden, attribute="legal_name", value="华盛科技集团", version=None):
    return client.post(
        reverse("golden_pin", args=[golden.golden_id]),
        {"attribute": attribute, "value": value, "version": version or golden.version},
    )


def test_a_steward_value_wins_and_survives_recomputation(steward_client):
    golden = make_golden("北京华盛科技有限公司")
    assert pin(steward_client, golden).status_code == 302
    golden.refresh_from_db()
    assert golden.legal_name == "华盛科技集团"
    assert golden.lineage["legal_name"]["steward"] == "alice"
    golden_record_recompute(golden=golden, reason="a source changed")
    golden.refresh_from_db()
    assert golden.legal_name == "华盛科技集团"
    assert OutboxEvent.objects.filter(topic="golden.updated").exists()
    page = steward_client.get(reverse("golden", args=[golden.golden_id]))
    assert "华盛科技集团" in page.content.decode()


def test_a_stale_edit_gets_409_with_the_current_version_and_writes_nothing(
    steward_client,
):
    # RELIABILITY C2: submitted against v while the row is at v + 1.
    golden = make_golden("北京华盛科技有限公司")
    seen = golden.version
    assert pin(steward_client, golden, value="华盛科技").status_code == 302
    golden.refresh_from_db()
    assert golden.version == seen + 1
    response = pin(steward_client, golden, value="华盛集团", version=seen)
    assert response.status_code == 409
    assert f"{golden.golden_id} v{seen + 1}" in response.content.decode()
    golden.refresh_from_db()
    assert (golden.legal_name, golden.version) == ("华盛科技", seen + 1)
    future = pin(steward_client, golden, value="华盛集团", version=seen + 5)
    assert future.status_code == 409
    assert GoldenRecord.objects.get(pk=golden.pk).legal_name == "华盛科技"


def test_lists_cannot_be_set_by_hand(steward_client):
    golden = make_golden("北京华盛科技有限公司")
    pin(steward_client, golden, attribute="phones", value="1")
    assert GoldenRecord.objects.get(pk=golden.pk).version == golden.version


def test_a_viewer_cannot_edit(viewer_client):
    golden = make_golden("北京华盛科技有限公司")
    assert pin(viewer_client, golden).status_code == 403
    assert GoldenRecord.objects.get(pk=golden.pk).legal_name == "北京华盛科技有限公司"
