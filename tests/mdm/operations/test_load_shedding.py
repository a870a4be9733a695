"""Load shedding (issue #8): a request that waited in the queue longer than
REQUEST_QUEUE_TIMEOUT_MS, by the proxy's X-Request-Start stamp, is answered
503 at once without touching the database."""

from __future__ import annotations

import logging
import time

import pytest
from django.test import Client
from django.urls import reverse

from mdm.models import SourceRecord
from mdm.operations.load_shedding import request_start
from tests.mdm.api.conftest import client_with_token

pytestmark = pytest.mark.django_db

BUDGET_MS = 1000


@pytest.fixture
def budget(settings):
    settings.REQUEST_QUEUE_TIMEOUT_MS = BUDGET_MS


def stamp(seconds_ago: float) -> str:
    return f"t={time.time() - seconds_ago:.3f}"  # nginx's "t=${msec}"


def get(client: Client, url: str, start: str | None = None):
    headers = {} if start is None else {"X-Request-Start": start}
    return client.get(url, headers=headers)


def shed_total() -> float:
    text = Client().get(reverse("metrics")).content.decode()
    (line,) = [
        line
        for line in text.splitlines()
        if line.startswith("golden_record_requests_shed_total ")
    ]
    return float(line.rsplit(" ", 1)[1])


def test_a_request_without_the_header_is_served(budget, steward_client):
    assert get(steward_client, reverse("dashboard")).status_code == 200


def test_a_request_queued_within_the_budget_is_served(budget, steward_client):
    response = get(steward_client, reverse("dashboard"), stamp(0.2))
    assert response.status_code == 200


def test_a_request_queued_past_the_budget_gets_503_without_a_query(
    budget, steward_client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = get(steward_client, reverse("dashboard"), stamp(5))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "error": "service_unavailable",
        "detail": "The service is overloaded; retry shortly.",
    }


def test_an_api_write_queued_past_the_budget_is_not_applied(
    budget, django_assert_num_queries
):
    erp = client_with_token("kingdee", "erp", ["read", "write"])
    with django_assert_num_queries(0):  # not even the token
        response = erp.put(
            reverse("api-record", args=["erp", "C-1"]),
            {"name": "华盛科技"},
            format="json",
            HTTP_X_REQUEST_START=stamp(5),
        )
    assert response.status_code == 503
    assert not SourceRecord.objects.exists()


def test_a_shed_request_is_counted_in_the_metrics(budget, steward_client):
    before = shed_total()
    get(steward_client, reverse("dashboard"), stamp(5))
    get(steward_client, reverse("search"), stamp(5))
    assert shed_total() == before + 2


def test_a_shed_request_logs_one_warning_without_its_path(
    budget, steward_client, caplog
):
    with caplog.at_level(logging.INFO):
        get(steward_client, "/api/v1/golden-records/by-uscc/x", stamp(5))
    lines = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert len(lines) == 1, lines  # not Django's "Service Unavailable: <path>"
    name, level, message = lines[0]
    assert (name, level) == ("mdm.operations.load_shedding", "WARNING")
    assert message.startswith("request shed: queued ")
    assert message.endswith(f"ms, budget {BUDGET_MS} ms")
    assert "by-uscc" not in message


@pytest.mark.parametrize(
    "header",
    [
        "",
        "t=",
        "t=soon",
        "t=1.2.3",
        "t=nan",
        "t=inf",
        "t=-1700000000",
        "t=12",  # 1970 in every unit
        "t=1700000000, t=1700000001",  # stamped twice: unreadable
        "1700000000 D=5",
    ],
)
def test_a_header_that_cannot_be_read_is_ignored(budget, steward_client, header):
    assert get(steward_client, reverse("dashboard"), header).status_code == 200


def test_a_stamp_in_the_future_is_ignored(budget, steward_client):
    # The proxy's clock ahead of the app's: no queue time to speak of.
    response = get(steward_client, reverse("dashboard"), stamp(-60))
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["healthz", "readyz", "metrics"])
def test_probes_and_metrics_are_never_shed(budget, name):
    assert get(Client(), reverse(name), stamp(60)).status_code == 200


def test_shedding_is_off_when_the_budget_is_0(settings, steward_client):
    settings.REQUEST_QUEUE_TIMEOUT_MS = 0
    response = get(steward_client, reverse("dashboard"), stamp(60))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda t: f"t={t:.3f}", id="nginx-msec"),
        pytest.param(lambda t: f"t={int(t)}", id="seconds"),
        pytest.param(lambda t: f"t={int(t * 1000)}", id="milliseconds"),
        pytest.param(lambda t: f"t={int(t * 1_000_000)}", id="microseconds"),
        pytest.param(lambda t: f"{int(t * 1000)}", id="bare-number"),
        pytest.param(lambda t: f" t={t:.6f} ", id="spaces"),
    ],
)
def test_every_unit_form_is_read(budget, steward_client, form):
    # Read in a wrong unit, the stamp would fall before 2000 or after now,
    # and be ignored.
    stale = form(time.time() - 5)
    assert get(steward_client, reverse("dashboard"), stale).status_code == 503


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("t=1700000000.123", 1_700_000_000.123),
        ("t=1700000000", 1_700_000_000.0),
        ("t=1700000000123", 1_700_000_000.123),
        ("t=1700000000123456", 1_700_000_000.123456),
        ("1700000000123456", 1_700_000_000.123456),
        ("1700000000.5", 1_700_000_000.5),
    ],
)
def test_the_unit_is_told_by_the_size_of_the_number(header, seconds):
    assert request_start(header, now=1_700_000_100.0) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "header",
    ["t=1700000200", "t=1700000200000", "t=1700000200000000", "t=1.7e18"],
)
def test_a_stamp_after_now_is_none_whatever_its_unit(header):
    assert request_start(header, now=1_700_000_100.0) is None
