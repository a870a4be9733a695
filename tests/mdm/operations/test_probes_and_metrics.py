import json
import logging
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from mdm.operations import probes
from tests.mdm.ui.helpers import make_task

pytestmark = pytest.mark.django_db


def test_liveness_needs_no_login_and_no_database():
    with mock.patch.object(probes, "connection") as broken:
        broken.cursor.side_effect = OperationalError("server closed the connection")
        response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_database_migrations_and_cache_answer():
    response = Client().get(reverse("readyz"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": True, "migrations": True, "cache": True},
    }


def test_not_ready_while_the_database_is_down():
    with mock.patch.object(probes.connection, "cursor") as cursor:
        cursor.side_effect = OperationalError("could not connect to server")
        response = Client().get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["checks"]["database"] is False


def test_a_database_outage_answers_503_with_retry_after(steward_client):
    with mock.patch(
        "mdm.views.dashboard.dashboard_stats",
        side_effect=OperationalError("terminating connection due to administrator"),
    ):
        response = steward_client.get(reverse("dashboard"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"] == "service_unavailable"
    # The next request, with the database back, is served normally.
    assert steward_client.get(reverse("dashboard")).status_code == 200


def metric(text: str, line_start: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(line_start)]
    return float(line.rsplit(" ", 1)[1])


def test_metrics_read_the_queue_records_and_outbox_from_the_database():
    make_task()
    make_task()
    response = Client().get(reverse("metrics"))
    assert response.status_code == 200
    text = response.content.decode()
    assert metric(text, 'golden_record_review_tasks{status="open"}') == 2
    assert metric(text, 'golden_record_golden_records{status="active"}') == 4
    assert metric(text, 'golden_record_source_records{active="true",system="erp"}') == 4
    assert metric(text, 'golden_record_match_outcomes_total{method="new"}') == 4
    assert metric(text, "golden_record_outbox_events_total") == 4
    assert metric(text, "golden_record_review_queue_oldest_age_seconds") >= 0


def test_metrics_need_the_token_when_one_is_set(settings):
    settings.METRICS_TOKEN = "scrape-secret"
    client = Client()
    assert client.get(reverse("metrics")).status_code == 403
    wrong = client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 403
    right = client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert right.status_code == 200


def test_without_a_token_only_local_scrapers_may_read_metrics():
    remote = Client(REMOTE_ADDR="203.0.113.9")
    assert remote.get(reverse("metrics")).status_code == 403


def test_json_log_lines_parse_as_json(settings):
    from logging.config import dictConfig

    config = dict(settings.LOGGING)
    config["handlers"] = {
        "console": {**config["handlers"]["console"], "formatter": "json"}
    }
    dictConfig(config)
    try:
        handler = logging.getLogger().handlers[0]
        record = logging.LogRecord(
            "mdm.test", logging.INFO, "", 1, "hello %s", ("x",), None
        )
        line = json.loads(handler.format(record))
        assert line["message"] == "hello x"
        assert line["level"] == "INFO"
        assert line["name"] == "mdm.test"
    finally:
        dictConfig(settings.LOGGING)


def test_metrics_show_deliveries_per_target_and_the_outbox_lag():
    from mdm.models import DeliveryTarget

    DeliveryTarget.objects.create(name="erp-hook", kind="file", config={})
    make_task()  # two golden records created: two deliveries due
    text = Client().get(reverse("metrics")).content.decode()
    assert (
        metric(text, 'golden_record_deliveries{state="pending",target="erp-hook"}') == 2
    )
    assert metric(text, 'golden_record_outbox_lag_seconds{target="erp-hook"}') >= 0
