"""The delivery operations page: who may see it, what it counts, and replay
of dead letters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mdm.models import Delivery, DeliveryAttempt, DeliveryTarget
from mdm.selectors.deliveries import delivery_target_health
from tests.builders import make_golden
from tests.mdm.ui.delivery_builders import make_dead_delivery, make_file_target
from tests.mdm.ui.helpers import make_steward, make_viewer

pytestmark = pytest.mark.django_db

URL = "/deliveries/"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def steward_client():
    return logged_in(make_steward())


@pytest.fixture
def erp_and_crm():
    """Two targets, each with one delivery per state (the outbox writes
    them as golden records are created; the states are then set)."""
    erp, crm = make_file_target("erp-out"), make_file_target("crm-out")
    states = [
        Delivery.State.PENDING,
        Delivery.State.PENDING,
        Delivery.State.IN_FLIGHT,
        Delivery.State.DELIVERED,
        Delivery.State.DEAD,
        Delivery.State.CONFLICT,
    ]
    for index, state in enumerate(states):
        make_golden(f"北京第{index}科技有限公司", FNumber=f"C{index}")
        Delivery.objects.filter(pk=erp.deliveries.latest("pk").pk).update(state=state)
    # The CRM received everything.
    crm.deliveries.update(state=Delivery.State.DELIVERED)
    return erp, crm


def test_viewers_are_refused_and_anonymous_users_sent_to_log_in():
    assert logged_in(make_viewer()).get(URL).status_code == 403
    response = Client().get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_counts_each_targets_deliveries_per_state(steward_client, erp_and_crm):
    erp, crm = erp_and_crm
    response = steward_client.get(URL)
    assert response.status_code == 200
    health = {row.target.name: row for row in response.context["health"]}
    counts = lambda row: (  # noqa: E731
        row.due,
        row.in_flight,
        row.delivered,
        row.dead,
        row.conflict,
    )
    assert counts(health["erp-out"]) == (2, 1, 1, 1, 1)
    assert counts(health["crm-out"]) == (0, 0, 6, 0, 0)
    html = response.content.decode()
    assert f'href="?target={erp.pk}&amp;state=dead"' in html
    assert response.context["page"].paginator.count == 12


def test_it_shows_breaker_pause_suspension_and_last_error(steward_client):
    now = timezone.now()
    make_file_target(
        "tripped",
        breaker_state=DeliveryTarget.Breaker.OPEN,
        breaker_open_until=now + timedelta(minutes=1),
        paused_until=now + timedelta(minutes=5),
        last_error="HTTP 503: maintenance window",
    )
    make_file_target(
        "cooled",
        breaker_state=DeliveryTarget.Breaker.OPEN,
        breaker_open_until=now - timedelta(seconds=1),
        suspended_at=now,
        suspended_reason="410 Gone",
        last_success_at=now - timedelta(hours=1),
    )
    health = {row.target.name: row for row in delivery_target_health(now=now)}
    tripped, cooled = health["tripped"], health["cooled"]
    assert (tripped.breaker, tripped.paused, tripped.suspended) == ("open", True, False)
    # Its cool-down is over: the next call is a trial.
    assert (cooled.breaker, cooled.paused, cooled.suspended) == (
        "half_open",
        False,
        True,
    )
    html = steward_client.get(URL).content.decode()
    assert "HTTP 503: maintenance window" in html
    assert "起暂停" in html and "暂缓至" in html  # suspended since, paused until


def test_it_filters_by_target_and_state(steward_client, erp_and_crm):
    erp, crm = erp_and_crm
    response = steward_client.get(URL, {"target": erp.pk, "state": "dead"})
    rows = list(response.context["page"].object_list)
    assert [(d.target_id, d.state) for d in rows] == [(erp.pk, "dead")]
    response = steward_client.get(URL, {"target": crm.pk})
    assert {d.target_id for d in response.context["page"]} == {crm.pk}
    # Unknown values filter nothing instead of failing.
    response = steward_client.get(URL, {"target": 99999, "state": "nonsense"})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 12


def test_each_delivery_links_its_golden_record_and_lists_its_attempts(
    steward_client,
):
    golden = make_golden(FNumber="C9")
    dead = make_dead_delivery(make_file_target("erp-out"))
    DeliveryAttempt.objects.create(
        delivery=dead,
        outcome=DeliveryAttempt.Outcome.RETRY,
        status_code=429,
        duration_ms=12,
        error="rate-limited",
        attempted_at=timezone.now() - timedelta(hours=1),
    )
    html = steward_client.get(URL).content.decode()
    assert f'href="/golden/{golden.golden_id}/"' in html
    assert "2 次尝试" in html
    assert "HTTP 500: upstream exploded" in html and "rate-limited" in html
    assert '<td class="num">37</td>' in html and '<td class="num">429</td>' in html
    assert html.count(f'action="/deliveries/{dead.pk}/replay/"') == 1


def test_replay_requeues_a_dead_delivery_with_the_same_event_id(steward_client):
    make_golden(FNumber="C1")
    dead = make_dead_delivery(make_file_target("erp-out"))
    key, event = dead.idempotency_key, dead.event_id
    response = steward_client.post(
        f"/deliveries/{dead.pk}/replay/", {"next": f"{URL}?state=dead"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?state=dead"
    dead.refresh_from_db()
    assert dead.state == Delivery.State.PENDING
    assert (dead.idempotency_key, dead.event_id) == (key, event)
    assert dead.attempts == 0 and dead.next_attempt_at <= timezone.now()
    # Its history stays.
    assert dead.attempt_log.count() == 1
    [message] = get_messages(response.wsgi_request)
    assert message.level_tag == "success"
    assert dead.golden_id in str(message)


def test_only_dead_deliveries_are_replayed(steward_client):
    make_file_target("erp-out")
    make_golden(FNumber="C1")
    delivery = Delivery.objects.get()
    delivery.state = Delivery.State.DELIVERED
    delivery.save()
    response = steward_client.post(f"/deliveries/{delivery.pk}/replay/")
    assert response["Location"] == reverse("deliveries")
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.DELIVERED
    [message] = get_messages(response.wsgi_request)
    assert message.level_tag == "warning"


def test_replay_never_redirects_off_site(steward_client):
    make_golden(FNumber="C1")
    dead = make_dead_delivery(make_file_target("erp-out"))
    response = steward_client.post(
        f"/deliveries/{dead.pk}/replay/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("deliveries")


def test_viewers_cannot_replay():
    make_golden(FNumber="C1")
    dead = make_dead_delivery(make_file_target("erp-out"))
    response = logged_in(make_viewer()).post(f"/deliveries/{dead.pk}/replay/")
    assert response.status_code == 403
    dead.refresh_from_db()
    assert dead.state == Delivery.State.DEAD
