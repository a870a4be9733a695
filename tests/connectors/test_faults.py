"""RELIABILITY D2 (at-least-once under faults) and D5 (ordering per golden
ID) at their CI sizes (D5 at 1,000 golden IDs nightly: tests/tiers.py),
against reference receivers behind loopback servers that fail a third of
the calls (500s, time-outs, resets, commit-then-drop).

On PostgreSQL the workers are real threads, each with its own connection,
claiming with SKIP LOCKED. SQLite runs one writer at a time, so there the
same workers take turns in one thread: the interleavings differ, the rules
checked are the same. A "killed" worker dies with its leases held (after
its request may have reached the receiver); the others take its work over
once the lease expires.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.db.models import Count

from connectors.broadcast import Worker, broadcast_run_once
from mdm.models import Delivery, GoldenRecord
from mdm.services.golden_records import golden_record_merge, golden_record_pin_set
from tests.builders import make_golden
from tests.connectors.delivery_helpers import LOOPBACK, make_webhook_target, open_count
from tests.connectors.downstream import Downstream, Faults
from tests.mdm.ui.helpers import make_steward
from tests.tiers import tier_size

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.slow,
]
CONCURRENT = connection.vendor == "postgresql"
LEASE = timedelta(seconds=2)


class SimulatedKill(BaseException):
    """Not an Exception: nothing in the worker catches it, as with SIGKILL."""


class KillableWorker(Worker):
    def __init__(self, *, kill_after: int | None = None, **kw) -> None:
        super().__init__(lease=LEASE, **kw)
        self.kill_after = kill_after
        self.counting = threading.Lock()  # a webhook sends calls concurrently

    def connector(self, target):
        real = super().connector(target)
        if self.kill_after is None:
            return real
        worker = self

        class Dying:
            capabilities = real.capabilities
            target = real.target

            def deliver(self, message):
                result = real.deliver(message)  # the request went out...
                with worker.counting:
                    if worker.kill_after is None:
                        return result
                    worker.kill_after -= 1
                    if worker.kill_after > 0:
                        return result
                    worker.kill_after = None
                raise SimulatedKill  # ...and the worker died before recording

        return Dying()


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.CONNECTOR_ALLOWED_NETWORKS = LOOPBACK


def faulty_downstream(seed: int = 11) -> Downstream:
    """D2's faults: 30 % HTTP 500, 5 % time-outs, 2 % connection resets, and
    3 % applied but answered with a dropped connection (so retries arrive
    as duplicates the receiver must recognise)."""
    return Downstream(
        Faults(
            error_500=0.30,
            timeout=0.05,
            reset=0.02,
            commit_then_drop=0.03,
            hang_seconds=0.6,
        ),
        seed=seed,
    )


def fast_retries(downstream: Downstream, **fields):
    return make_webhook_target(
        downstream.url,
        downstream.secret,
        timeout_seconds=0.3,
        backoff_base_seconds=0.02,
        backoff_cap_seconds=0.2,
        batch_size=20,
        **fields,
    )


def run_workers(workers, *, until, timeout: float = 240.0, producer=None):
    """Run `workers` (threads on PostgreSQL, turns on SQLite) until `until()`;
    a killed worker is replaced by a fresh one, like a supervisor would."""
    deadline = time.monotonic() + timeout
    kills = []
    if not CONCURRENT:
        steps = iter(producer or ())
        while True:
            step = next(steps, None)
            if step is not None:
                step()
            elif until():
                return kills
            if time.monotonic() > deadline:
                raise AssertionError(f"{open_count()} deliveries still open")
            for i, worker in enumerate(workers):
                try:
                    if not broadcast_run_once(worker=worker) and step is None:
                        time.sleep(0.02)
                except SimulatedKill:
                    kills.append(worker.name)
                    workers[i] = KillableWorker(name=f"{worker.name}+")
    stop = threading.Event()
    errors = []

    def loop(worker):
        try:
            while not stop.is_set():
                try:
                    if not broadcast_run_once(worker=worker):
                        time.sleep(0.05)
                except SimulatedKill:
                    kills.append(worker.name)
                    worker = KillableWorker(name=f"{worker.name}+")
        except Exception as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    try:
        for step in producer or ():
            step()
        deadline = time.monotonic() + timeout
        while not until():
            assert not errors, errors
            if time.monotonic() > deadline:
                raise AssertionError(f"{open_count()} deliveries still open")
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors, errors
    return kills


def assert_receiver_matches_mdm(receiver, goldens):
    for golden in goldens:
        golden.refresh_from_db()
        version, card = receiver.state.records[golden.golden_id]
        assert version == golden.version
        assert card["short_name"] == golden.short_name
        assert card["legal_name"] == golden.legal_name


def test_d2_500_merges_to_erp_and_crm_two_kills_each_applied_exactly_once():
    steward = make_steward()
    pool = [make_golden(f"公司{n:04d}有限公司", FNumber=f"C{n}") for n in range(1000)]
    with faulty_downstream(11) as erp, faulty_downstream(12) as crm:
        for downstream in (erp, crm):
            fast_retries(downstream, topics=["golden.merged"])
        survivors = []
        for n in range(500):
            survivors.append(
                golden_record_merge(
                    survivor=pool[2 * n],
                    absorbed=[pool[2 * n + 1]],
                    steward=steward,
                    reason="D2",
                )
            )
        workers = [
            KillableWorker(name="w1", kill_after=40),
            KillableWorker(name="w2", kill_after=80),
            KillableWorker(name="w3"),
        ]
        kills = run_workers(workers, until=lambda: open_count() == 0)
    assert sorted(kills) == ["w1", "w2"]
    states = dict(Delivery.objects.values_list("state").annotate(n=Count("id")))
    assert states == {"delivered": 1000}
    for downstream in (erp, crm):
        state = downstream.receiver.state
        keys = set(
            Delivery.objects.filter(target__config__url=downstream.url).values_list(
                "idempotency_key", flat=True
            )
        )
        assert len(keys) == 500
        assert keys <= state.seen_ids  # at least once
        assert all(len(v) == 1 for v in state.applied.values())  # applied once
        assert len(state.applied) == 500
        assert state.redirects == {
            pool[2 * n + 1].golden_id: pool[2 * n].golden_id for n in range(500)
        }
        assert downstream.outcomes["error_500"] > 100
        assert downstream.outcomes["timeout"] > 0
        assert downstream.outcomes["commit_then_drop"] > 0
        assert_receiver_matches_mdm(downstream.receiver, survivors)


D5_GOLDEN_IDS = tier_size(ci=100, nightly=1000)


def test_d5_golden_ids_times_20_updates_in_order_with_30_percent_failures():
    steward = make_steward()
    rng = random.Random(8)
    with Downstream(
        Faults(error_500=0.25, reset=0.03, commit_then_drop=0.02)
    ) as downstream:
        fast_retries(downstream)
        goldens = [
            make_golden(f"企业{n:04d}有限公司", FNumber=f"D{n}")
            for n in range(D5_GOLDEN_IDS)
        ]

        def update_round(round_no):
            @transaction.atomic  # one commit per round keeps the producer quick
            def step():
                for golden in rng.sample(goldens, len(goldens)):
                    golden.refresh_from_db()
                    golden_record_pin_set(
                        golden=golden,
                        attribute="short_name",
                        value=f"简称{round_no}",
                        steward=steward,
                        expected_version=golden.version,
                    )

            return step

        workers = [KillableWorker(name=f"w{n}") for n in range(8)]
        run_workers(
            workers,
            producer=[update_round(r) for r in range(19)],
            until=lambda: open_count() == 0,
        )
    state = downstream.receiver.state
    assert state.stale == 0
    for golden in goldens:
        arrivals = state.arrivals[golden.golden_id]
        assert arrivals == sorted(set(arrivals)), arrivals  # strictly increasing
    assert GoldenRecord.objects.filter(version=20).count() == D5_GOLDEN_IDS
    assert_receiver_matches_mdm(downstream.receiver, goldens)
    if not CONCURRENT:  # taking turns, the workers fall behind and coalesce
        assert Delivery.objects.filter(state="superseded").exists()
    assert not Delivery.objects.exclude(state__in=["delivered", "superseded"]).exists()
