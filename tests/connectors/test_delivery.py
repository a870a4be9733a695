import logging
from datetime import timedelta

import pytest

from connectors.broadcast import Worker, broadcast_run_once
from mdm.models import Delivery, DeliveryAttempt, OutboxEvent, RemoteLink
from mdm.services.deliveries import delivery_replay, delivery_target_resume
from mdm.services.golden_records import golden_record_merge, golden_record_recompute
from tests.builders import make_golden
from tests.connectors.delivery_helpers import (
    LOOPBACK,
    FakeClock,
    drain,
    make_webhook_target,
)
from tests.connectors.downstream import Downstream, Faults
from tests.mdm.ui.helpers import make_steward

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.CONNECTOR_ALLOWED_NETWORKS = LOOPBACK


@pytest.fixture
def downstream():
    with Downstream() as server:
        yield server


def test_a_change_is_due_at_every_subscribed_target_in_its_transaction(downstream):
    everything = make_webhook_target(downstream.url, downstream.secret)
    merges_only = make_webhook_target(
        downstream.url, downstream.secret, topics=["golden.merged"]
    )
    make_webhook_target(downstream.url, downstream.secret, enabled=False)
    golden = make_golden(FNumber="C1")
    delivery = Delivery.objects.get()
    assert delivery.target == everything
    assert (delivery.golden_id, delivery.version, delivery.topic) == (
        golden.golden_id,
        1,
        "golden.created",
    )
    assert delivery.idempotency_key == f"evt_{delivery.event_id}"
    assert not merges_only.deliveries.exists()


def test_it_delivers_a_signed_snapshot_and_links_the_golden_id(downstream):
    target = make_webhook_target(downstream.url, downstream.secret)
    golden = make_golden("北京华盛科技有限公司", FNumber="C1")
    assert broadcast_run_once(worker=Worker()) == 1
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.DELIVERED
    assert delivery.attempts == 1
    version, card = downstream.receiver.state.records[golden.golden_id]
    assert (version, card["legal_name"]) == (1, "北京华盛科技有限公司")
    headers = {k.lower() for k in downstream.requests[0]}
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= headers
    link = RemoteLink.objects.get(target=target, golden_id=golden.golden_id)
    assert (link.state, link.last_version, link.last_event_id) == (
        "linked",
        1,
        delivery.event_id,
    )
    assert link.pushed["id_card"]["legal_name"] == "北京华盛科技有限公司"
    assert len(link.pushed_hash) == 64
    assert DeliveryAttempt.objects.get().outcome == "delivered"


def test_a_batched_webhook_sends_a_claim_in_signed_posts_of_batch_size(downstream):
    target = make_webhook_target(
        downstream.url,
        downstream.secret,
        config={"url": downstream.url, "batch_size": 3},
    )
    goldens = [make_golden(f"公司{n}有限公司", FNumber=f"B{n}") for n in range(7)]
    assert broadcast_run_once(worker=Worker()) == 7
    assert len(downstream.requests) == 3  # 3 + 3 + 1
    assert {"webhook-id", "webhook-signature"} <= {
        k.lower() for k in downstream.requests[0]
    }
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}
    state = downstream.receiver.state
    assert {g.golden_id: state.records[g.golden_id][0] for g in goldens} == {
        g.golden_id: 1 for g in goldens
    }
    assert RemoteLink.objects.filter(target=target, state="linked").count() == 7


def test_a_batched_webhook_batch_fails_as_a_whole_and_is_sent_again(downstream):
    make_webhook_target(
        downstream.url,
        downstream.secret,
        config={"url": downstream.url, "batch_size": 5},
    )
    for n in range(4):
        make_golden(f"公司{n}有限公司", FNumber=f"F{n}")
    downstream.faults.error_500 = 1.0
    broadcast_run_once(worker=Worker())
    assert set(Delivery.objects.values_list("state", flat=True)) == {"pending"}
    downstream.faults.error_500 = 0.0
    drain(Worker())
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}
    assert len(downstream.receiver.state.records) == 4
    assert downstream.receiver.state.duplicates == 0


def test_a_webhook_batch_size_out_of_range_suspends_the_target(downstream):
    target = make_webhook_target(
        downstream.url,
        downstream.secret,
        config={"url": downstream.url, "batch_size": 0},
    )
    make_golden(FNumber="C1")
    assert broadcast_run_once(worker=Worker()) == 0
    target.refresh_from_db()
    assert target.suspended_at is not None
    assert "batch_size" in target.suspended_reason


def test_superseded_versions_coalesce_into_the_latest_snapshot(downstream):
    make_webhook_target(downstream.url, downstream.secret)
    golden = make_golden(FNumber="C1")
    for _ in range(3):
        golden = golden_record_recompute(golden=golden, reason="test")
    broadcast_run_once(worker=Worker())
    states = dict(Delivery.objects.values_list("version", "state"))
    assert states == {1: "superseded", 2: "superseded", 3: "superseded", 4: "delivered"}
    assert downstream.receiver.state.applied[golden.golden_id] == [4]
    latest = Delivery.objects.get(version=4)
    body_ids = downstream.receiver.state.seen_ids
    assert body_ids == {latest.idempotency_key}


def test_a_merge_is_not_folded_away_and_carries_the_redirects(downstream):
    make_webhook_target(downstream.url, downstream.secret)
    steward = make_steward()
    survivor, other = make_golden(FNumber="C1"), make_golden("华盛科技", FNumber="C2")
    drain(Worker())
    golden_record_merge(
        survivor=survivor, absorbed=[other], steward=steward, reason="x"
    )
    survivor.refresh_from_db()
    golden_record_recompute(golden=survivor, reason="after")
    worker = Worker()
    broadcast_run_once(worker=worker)
    merged = Delivery.objects.get(topic="golden.merged")
    assert merged.state == "delivered"
    assert downstream.receiver.state.redirects == {other.golden_id: survivor.golden_id}
    # The update after the merge waits for the next pass: one at a time per key.
    assert Delivery.objects.get(version=merged.version + 1).state == "pending"
    broadcast_run_once(worker=worker)
    assert downstream.receiver.state.applied[survivor.golden_id] == [1, 2, 3]


def test_a_dead_workers_lease_is_reclaimed_after_it_expires(downstream):
    make_webhook_target(downstream.url, downstream.secret)
    make_golden(FNumber="C1")
    clock = FakeClock()
    from connectors.broadcast import delivery_claim

    target_id = Delivery.objects.get().target_id
    _target, claims = delivery_claim(target_id=target_id, worker=Worker(clock=clock))
    assert len(claims) == 1  # ...and the worker dies here
    other = Worker(clock=clock)
    assert broadcast_run_once(worker=other) == 0
    clock.advance(301)
    assert broadcast_run_once(worker=other) == 1
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("delivered", 2)


def test_a_coalesced_claim_keeps_its_lease_so_a_dead_worker_is_taken_over(
    downstream,
):
    # The delivery that takes a folded key over must carry the lease's
    # expiry: without it, a worker dying here left it in flight for ever.
    make_webhook_target(downstream.url, downstream.secret)
    golden = make_golden(FNumber="C1")
    for _ in range(2):
        golden = golden_record_recompute(golden=golden, reason="test")
    clock = FakeClock()
    from connectors.broadcast import delivery_claim

    target_id = Delivery.objects.first().target_id
    _target, claims = delivery_claim(target_id=target_id, worker=Worker(clock=clock))
    assert [c.delivery.version for c in claims] == [3]  # ...and the worker dies
    held = Delivery.objects.get(version=3)
    assert held.state == "in_flight"
    assert held.lease_expires_at == clock.now + Worker(clock=clock).lease
    other = Worker(clock=clock)
    assert broadcast_run_once(worker=other) == 0
    clock.advance(301)
    assert broadcast_run_once(worker=other) == 1
    assert Delivery.objects.get(version=3).state == "delivered"
    assert downstream.receiver.state.applied[golden.golden_id] == [3]


def test_a_late_result_from_a_worker_that_lost_its_lease_is_dropped(downstream):
    from connectors.broadcast import delivery_claim, delivery_record

    make_webhook_target(downstream.url, downstream.secret)
    make_golden(FNumber="C1")
    clock = FakeClock()
    target_id = Delivery.objects.get().target_id
    _target, claims = delivery_claim(target_id=target_id, worker=Worker(clock=clock))
    clock.advance(301)
    broadcast_run_once(worker=Worker(clock=clock))
    assert (
        delivery_record(claim=claims[0], result=RuntimeError("late"), worker=Worker())
        is None
    )
    assert Delivery.objects.get().state == "delivered"


def test_a_worker_that_stalled_past_its_lease_sends_nothing_after_a_newer_version(
    downstream,
):
    # D5 nightly: a slow worker's old version reached the receiver after the
    # newer one another worker had sent once the lease expired.
    from connectors.broadcast import claims_deliver, delivery_claim

    make_webhook_target(downstream.url, downstream.secret)
    golden = make_golden(FNumber="C1")
    clock = FakeClock()
    slow = Worker(clock=clock)
    target, claims = delivery_claim(
        target_id=Delivery.objects.get().target_id, worker=slow
    )
    assert [c.delivery.version for c in claims] == [1]  # ...and it stalls
    golden_record_recompute(golden=golden, reason="test")
    clock.advance(301)
    assert broadcast_run_once(worker=Worker(clock=clock)) == 1
    assert downstream.receiver.state.applied[golden.golden_id] == [2]
    assert claims_deliver(target=target, claims=claims, worker=slow) == 0
    assert downstream.receiver.state.arrivals[golden.golden_id] == [2]
    assert downstream.receiver.state.stale == 0
    assert set(Delivery.objects.values_list("version", "state")) == {
        (1, "superseded"),
        (2, "delivered"),
    }


def failing_target(downstream):
    """A target whose every call fails, with a budget of 3 attempts in 3 h."""
    downstream.faults = Faults(always_status=500)
    return make_webhook_target(
        downstream.url,
        downstream.secret,
        retry_max_attempts=3,
        retry_window=timedelta(hours=3),
        backoff_base_seconds=1,
        backoff_cap_seconds=60,
    )


def test_the_retry_budget_ends_in_a_dead_letter_with_an_alert_and_replay_resends(
    downstream, caplog
):
    target = failing_target(downstream)
    make_golden(FNumber="C1")
    clock = FakeClock()
    worker = Worker(clock=clock)
    with caplog.at_level(logging.ERROR, logger="golden_record.alerts"):
        for _ in range(200):
            broadcast_run_once(worker=worker)
            delivery = Delivery.objects.get()
            if delivery.state == "dead":
                break
            clock.advance(3600)
    assert delivery.state == "dead"
    assert delivery.attempts >= 3
    assert "HTTP 500" in delivery.last_error
    assert delivery.attempt_log.count() == delivery.attempts
    assert any("dead letter" in r.getMessage() for r in caplog.records)
    assert clock.now - delivery.first_attempt_at >= target.retry_window

    downstream.faults = Faults()
    assert delivery_replay(deliveries=[delivery]) == 1
    broadcast_run_once(worker=Worker())
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    first_ids = {r["webhook-id"] for r in downstream.requests}
    assert first_ids == {delivery.idempotency_key}
    assert downstream.receiver.state.seen_ids == {delivery.idempotency_key}


def test_every_event_of_a_dead_target_is_a_dead_letter_alerted_in_its_pass(
    downstream, caplog
):
    # RELIABILITY D4 over 50 events: none dropped, each with its attempts and
    # last error, each alert raised in the worker pass that buried it.
    failing_target(downstream)
    for n in range(50):
        make_golden(f"公司{n:02d}有限公司", FNumber=f"C{n}")
    clock = FakeClock()
    worker = Worker(clock=clock)
    alerted: set[int] = set()
    with caplog.at_level(logging.ERROR, logger="golden_record.alerts"):
        for _ in range(400):
            caplog.clear()
            broadcast_run_once(worker=worker)
            alerted |= {
                int(r.args[0])
                for r in caplog.records
                if "dead letter" in r.getMessage()
            }
            dead = set(
                Delivery.objects.filter(state="dead").values_list("pk", flat=True)
            )
            assert dead == alerted  # no letter dies without its alert, in its pass
            if len(dead) == 50:
                break
            clock.advance(3600)
    letters = list(Delivery.objects.all())
    assert {d.state for d in letters} == {"dead"}
    assert all(d.attempts >= 3 and "HTTP 500" in d.last_error for d in letters)
    assert all(d.attempt_log.count() == d.attempts for d in letters)
    downstream.faults = Faults()
    assert delivery_replay(deliveries=letters) == 50
    drain(Worker())
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}
    assert downstream.receiver.state.seen_ids == {d.idempotency_key for d in letters}


def test_a_410_suspends_the_target_and_resuming_it_sends_what_waited(
    downstream, caplog
):
    downstream.faults = Faults(always_status=410)
    target = make_webhook_target(downstream.url, downstream.secret)
    make_golden(FNumber="C1")
    broadcast_run_once(worker=Worker())
    target.refresh_from_db()
    assert target.suspended_at is not None
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("pending", 0)
    make_golden(FNumber="C2")  # still recorded for the suspended target
    assert broadcast_run_once(worker=Worker()) == 0
    downstream.faults = Faults()
    delivery_target_resume(target=target)
    drain(Worker())
    assert Delivery.objects.filter(state="delivered").count() == 2


def test_the_circuit_opens_after_consecutive_failures_and_a_probe_closes_it(downstream):
    downstream.faults = Faults(always_status=503)
    target = make_webhook_target(
        downstream.url,
        downstream.secret,
        breaker_threshold=3,
        breaker_cooldown_seconds=30,
    )
    for n in range(6):
        make_golden(FNumber=f"C{n}")
    clock = FakeClock()
    worker = Worker(clock=clock)
    broadcast_run_once(worker=worker)
    target.refresh_from_db()
    assert target.breaker_state == "open"
    calls = len(downstream.requests)
    clock.advance(10)
    broadcast_run_once(worker=worker)
    assert len(downstream.requests) == calls  # open: nothing sent
    downstream.faults = Faults()
    clock.advance(30)
    assert broadcast_run_once(worker=worker) == 1  # half open: one probe
    target.refresh_from_db()
    assert target.breaker_state == "closed"
    drain(worker)
    assert Delivery.objects.filter(state="delivered").count() == 6


def test_a_429_pauses_the_whole_target_for_retry_after(downstream):
    downstream.faults = Faults(rate_limit_429=1.0, retry_after="120")
    target = make_webhook_target(downstream.url, downstream.secret, batch_size=1)
    make_golden(FNumber="C1")
    make_golden(FNumber="C2")
    clock = FakeClock()
    worker = Worker(clock=clock)
    broadcast_run_once(worker=worker)
    target.refresh_from_db()
    assert (target.paused_until - clock.now).total_seconds() == pytest.approx(120)
    clock.advance(60)
    assert broadcast_run_once(worker=worker) == 0
    first = Delivery.objects.order_by("id").first()
    assert (first.next_attempt_at - first.first_attempt_at).total_seconds() >= 120


def test_the_rate_limit_spaces_claims_across_workers(downstream):
    make_webhook_target(downstream.url, downstream.secret, rate_limit_per_second=2)
    for n in range(5):
        make_golden(FNumber=f"C{n}")
    clock = FakeClock()
    workers = [Worker(clock=clock), Worker(clock=clock)]
    sent = sum(broadcast_run_once(worker=w) for w in workers)
    assert sent == 2
    clock.advance(1)
    assert sum(broadcast_run_once(worker=w) for w in workers) == 2


def test_a_replay_older_than_what_the_target_holds_is_not_sent(downstream):
    make_webhook_target(downstream.url, downstream.secret)
    golden = make_golden(FNumber="C1")
    broadcast_run_once(worker=Worker())
    first = Delivery.objects.get()
    Delivery.objects.filter(pk=first.pk).update(state="dead")
    golden_record_recompute(golden=golden, reason="newer")
    broadcast_run_once(worker=Worker())
    delivery_replay(deliveries=[first])
    broadcast_run_once(worker=Worker())
    first.refresh_from_db()
    assert first.state == "superseded"
    assert downstream.receiver.state.applied[golden.golden_id] == [1, 2]


def test_a_target_whose_secret_is_missing_is_suspended_not_dead(downstream):
    target = make_webhook_target(
        downstream.url, downstream.secret, secret_env={"signing_secret": "NOT_SET_X"}
    )
    make_golden(FNumber="C1")
    broadcast_run_once(worker=Worker())
    target.refresh_from_db()
    assert "NOT_SET_X" in target.suspended_reason
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("pending", 0)
    assert OutboxEvent.objects.count() == 1


def test_the_admin_lists_dead_letters_and_replays_them(downstream, client):
    from django.contrib.auth import get_user_model

    admin_user = get_user_model().objects.create_superuser(
        "root", "root@example.com", "a-long-admin-password"
    )
    client.force_login(admin_user)
    target = make_webhook_target(downstream.url, downstream.secret)
    make_golden(FNumber="C1")
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(state="dead", last_error="HTTP 500")
    page = client.get("/admin/mdm/delivery/?state__exact=dead")
    assert page.status_code == 200 and "HTTP 500" in page.content.decode()
    assert client.get(f"/admin/mdm/delivery/{delivery.pk}/change/").status_code == 200
    assert client.get("/admin/mdm/deliverytarget/").status_code == 200
    assert client.get("/admin/mdm/remotelink/").status_code == 200
    response = client.post(
        "/admin/mdm/delivery/",
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 0)
    broadcast_run_once(worker=Worker())
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    assert target.deliveries.get().idempotency_key == delivery.idempotency_key
