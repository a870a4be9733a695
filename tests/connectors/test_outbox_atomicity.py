"""RELIABILITY D1: 1,000 merge transactions in CI, 10,000 nightly
(tests/tiers.py; merges and their undos on a small pool of records), a
tenth of them failing after the domain write and 50 "killed" at random
points inside (an exception raised
mid-write stands in for SIGKILL: either way the transaction never
commits). Committed merges equal merge events equal due deliveries; no
orphans either way."""

import random

import pytest

import mdm.services.golden_records as golden_records
import mdm.services.outbox as outbox
from mdm.models import Delivery, DeliveryTarget, OutboxEvent, StewardDecision
from mdm.services.golden_records import golden_record_merge
from mdm.services.unmerge import golden_record_unmerge
from tests.builders import make_golden
from tests.mdm.ui.helpers import make_steward
from tests.tiers import tier_size

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TRANSACTIONS = tier_size(ci=1000, nightly=10_000)
FAIL_AFTER, KILLS = TRANSACTIONS // 10, 50


class Killed(Exception):
    pass


def test_d1_committed_merges_equal_merge_events_exactly(monkeypatch):
    from django.db import transaction

    DeliveryTarget.objects.create(name="erp", kind="file", config={"path": "x"})
    DeliveryTarget.objects.create(name="crm", kind="file", config={"path": "y"})
    steward = make_steward()
    pool = [make_golden(f"公司{n}有限公司", FNumber=f"P{n}") for n in range(8)]
    rng = random.Random(1)
    plan = ["ok"] * TRANSACTIONS
    for index in rng.sample(range(TRANSACTIONS), FAIL_AFTER + KILLS)[:FAIL_AFTER]:
        plan[index] = "fail_after"
    # (not among the last ten: a kill that finds too short a path to fire
    # on is carried to the next plain transaction, see below)
    ok = [i for i, p in enumerate(plan[:-10]) if p == "ok"]
    kill_at = set(rng.sample(ok, KILLS))
    kill_point = {"armed": False, "countdown": 0}
    real_link, real_move, real_schedule = (
        golden_records.golden_record_link,
        golden_records._links_move,
        outbox.outbox_schedule_deliveries,
    )

    def maybe_die():
        if kill_point["armed"]:
            kill_point["countdown"] -= 1
            if kill_point["countdown"] <= 0:
                kill_point["armed"] = False
                raise Killed

    def link(**kw):
        maybe_die()
        return real_link(**kw)

    def move(*args, **kw):  # a merge moving its links: before or after
        maybe_die()
        real_move(*args, **kw)
        maybe_die()

    def schedule(**kw):
        created = real_schedule(**kw)
        maybe_die()  # after the event and its deliveries were written
        return created

    monkeypatch.setattr(golden_records, "golden_record_link", link)
    monkeypatch.setattr(golden_records, "_links_move", move)
    monkeypatch.setattr(outbox, "outbox_schedule_deliveries", schedule)

    outcomes = {"committed": 0, "fail_after": 0, "killed": 0}
    stack = []  # committed merges, undone last-in first-out (always undoable)
    pending = 0  # kills due that have not fired yet
    for index in range(TRANSACTIONS):
        if index in kill_at:
            pending += 1
            kill_point.update(armed=True, countdown=rng.randint(1, 3))
        elif pending and plan[index] == "ok":
            kill_point.update(armed=True, countdown=1)  # a missed kill, carried
        active = [g for g in pool if _refresh(g).status == "active"]
        undo = stack and (len(active) < 2 or rng.random() < 0.4)
        try:
            with transaction.atomic():
                if undo:
                    golden_record_unmerge(
                        decision=stack[-1], steward=steward, reason="u"
                    )
                else:
                    survivor, absorbed = rng.sample(active, 2)
                    golden_record_merge(
                        survivor=survivor,
                        absorbed=[absorbed],
                        steward=steward,
                        reason="d",
                    )
                if plan[index] == "fail_after":
                    raise Killed("fails after the domain write")
        except Killed:
            if plan[index] == "fail_after":
                outcomes["fail_after"] += 1
            else:
                outcomes["killed"] += 1
                pending -= 1
            kill_point["armed"] = False
            continue
        kill_point["armed"] = False
        outcomes["committed"] += 1
        if undo:
            stack.pop()
        else:
            stack.append(StewardDecision.objects.filter(kind="merge").latest("pk"))

    merges = StewardDecision.objects.filter(kind="merge").count()
    splits = StewardDecision.objects.filter(kind="split").count()
    assert outcomes["fail_after"] == FAIL_AFTER
    assert outcomes["killed"] == KILLS
    assert merges + splits == outcomes["committed"]
    assert OutboxEvent.objects.filter(topic="golden.merged").count() == merges
    # An undo announces the survivor and each restored record.
    assert OutboxEvent.objects.filter(topic="golden.unmerged").count() == 2 * splits
    events = OutboxEvent.objects.count()
    assert Delivery.objects.count() == 2 * events
    assert not OutboxEvent.objects.exclude(deliveries__isnull=False).exists()


def _refresh(golden):
    golden.refresh_from_db()
    return golden
