"""RELIABILITY D1: 1,000 merge transactions in CI, 10,000 nightly
(tests/tiers.py; merges and their undos on a small pool of records), a
tenth of them failing after the domain write, and the process SIGKILLed at
50 random points inside a transaction: the transactions run in a forked
child process, which at each of those points (before or after a merge moves
its links, after an event and its deliveries are written) stops and is
killed by the test with SIGKILL; a new child carries on from the next
transaction. Committed merges equal merge events equal due deliveries; no
orphans either way."""

import multiprocessing
import os
import random
import signal
import traceback

import pytest
from django.db import connections, transaction

import mdm.services.golden_records as golden_records
import mdm.services.outbox as outbox
from mdm.models import (
    Delivery,
    DeliveryTarget,
    GoldenRecord,
    OutboxEvent,
    StewardDecision,
)
from mdm.services.golden_records import golden_record_merge
from mdm.services.unmerge import golden_record_unmerge
from tests.builders import make_golden
from tests.mdm.ui.helpers import make_steward
from tests.tiers import tier_size

# Transactional: the child processes see only what is committed.
pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.slow,
]

TRANSACTIONS = tier_size(ci=1000, nightly=10_000)
FAIL_AFTER, KILLS = TRANSACTIONS // 10, 50
CHILD_TIMEOUT_S = 120


class FailsAfterTheWrite(Exception):
    pass


def test_d1_committed_merges_equal_merge_events_exactly(monkeypatch):
    DeliveryTarget.objects.create(name="erp", kind="file", config={"path": "x"})
    DeliveryTarget.objects.create(name="crm", kind="file", config={"path": "y"})
    steward = make_steward()
    pool = [make_golden(f"公司{n}有限公司", FNumber=f"P{n}").pk for n in range(8)]
    rng = random.Random(1)
    plan = ["ok"] * TRANSACTIONS
    for index in rng.sample(range(TRANSACTIONS), FAIL_AFTER + KILLS)[:FAIL_AFTER]:
        plan[index] = "fail_after"
    # (not among the last ten: a kill that finds too short a path to fire
    # on is carried to the next plain transaction, see `_transactions`)
    ok = [i for i, p in enumerate(plan[:-10]) if p == "ok"]
    kill_at = {i: rng.randint(1, 3) for i in rng.sample(ok, KILLS)}
    _hook_kill_points(monkeypatch)

    outcomes = {"committed": 0, "fail_after": 0, "killed": 0}
    start, pending = 0, 0
    stack = []  # committed merges not undone: undos go last-in first-out
    context = multiprocessing.get_context("fork")
    while start < TRANSACTIONS:
        # The child opens its own connections; it must not share ours.
        connections.close_all()
        ours, theirs = context.Pipe()
        child = context.Process(
            target=_child,
            args=(theirs, start, pending, stack, plan, kill_at, pool, steward.pk),
        )
        child.start()
        while True:
            assert ours.poll(CHILD_TIMEOUT_S), f"child silent at {start}"
            kind, index, pending, merge = ours.recv()
            if kind == "kill me":
                os.kill(child.pid, signal.SIGKILL)
                child.join()
                assert child.exitcode == -signal.SIGKILL
                outcomes["killed"] += 1
                start = index + 1
                break
            if kind == "error":
                child.join()
                pytest.fail(f"the child failed:\n{index}")
            if kind == "done":
                child.join()
                assert child.exitcode == 0
                start = TRANSACTIONS
                break
            outcomes[kind] += 1
            if kind == "committed" and merge:
                stack.append(merge)
            elif kind == "committed":
                stack.pop()  # an undo of the last merge

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


# --- the child process ---------------------------------------------------------

_kill_point = {"armed": False, "countdown": 0, "pipe": None, "index": 0, "left": 0}


def _hook_kill_points(monkeypatch) -> None:
    """Where a merge or an undo can be killed: before or after its links
    move, before a link is written, after its event and deliveries are."""
    real_link, real_move, real_schedule = (
        golden_records.golden_record_link,
        golden_records._links_move,
        outbox.outbox_schedule_deliveries,
    )

    def link(**kw):
        _maybe_die()
        return real_link(**kw)

    def move(*args, **kw):
        _maybe_die()
        real_move(*args, **kw)
        _maybe_die()

    def schedule(**kw):
        created = real_schedule(**kw)
        _maybe_die()
        return created

    monkeypatch.setattr(golden_records, "golden_record_link", link)
    monkeypatch.setattr(golden_records, "_links_move", move)
    monkeypatch.setattr(outbox, "outbox_schedule_deliveries", schedule)


def _maybe_die() -> None:
    point = _kill_point
    if point["armed"]:
        point["countdown"] -= 1
        if point["countdown"] <= 0:
            # Mid-transaction: ask to be killed and wait for it.
            point["pipe"].send(("kill me", point["index"], point["left"], None))
            point["pipe"].recv()


def _child(pipe, start, pending, stack, plan, kill_at, pool, steward_pk) -> None:
    from django.contrib.auth import get_user_model

    code = 1
    try:
        steward = get_user_model().objects.get(pk=steward_pk)
        _kill_point["pipe"] = pipe
        _transactions(pipe, start, pending, stack, plan, kill_at, pool, steward)
        pipe.send(("done", len(plan), 0, None))
        code = 0
    except BaseException:
        pipe.send(("error", traceback.format_exc(), 0, None))
    finally:
        connections.close_all()
        os._exit(code)  # no pytest teardown in the child


def _transactions(pipe, start, pending, stack, plan, kill_at, pool, steward) -> None:
    for index in range(start, len(plan)):
        rng = random.Random(index)
        if index in kill_at:
            pending += 1
            _arm(index, kill_at[index], pending - 1)
        elif pending and plan[index] == "ok":
            _arm(index, 1, pending - 1)  # a missed kill, carried
        active = list(
            GoldenRecord.objects.filter(pk__in=pool, status="active").order_by("pk")
        )
        undo = bool(stack) and (len(active) < 2 or rng.random() < 0.4)
        try:
            with transaction.atomic():
                if undo:
                    golden_record_unmerge(
                        decision=StewardDecision.objects.get(pk=stack[-1]),
                        steward=steward,
                        reason="u",
                    )
                else:
                    survivor, absorbed = rng.sample(active, 2)
                    golden_record_merge(
                        survivor=survivor,
                        absorbed=[absorbed],
                        steward=steward,
                        reason="d",
                    )
                _kill_point["armed"] = False  # a kill not fired yet stays pending
                if plan[index] == "fail_after":
                    raise FailsAfterTheWrite
        except FailsAfterTheWrite:
            pipe.send(("fail_after", index, pending, None))
            continue
        if undo:
            stack.pop()
            merge = None
        else:
            merge = StewardDecision.objects.filter(kind="merge").latest("pk").pk
            stack.append(merge)
        pipe.send(("committed", index, pending, merge))


def _arm(index: int, countdown: int, left_after: int) -> None:
    _kill_point.update(armed=True, countdown=countdown, index=index, left=left_after)
