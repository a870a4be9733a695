"""The decisions that undo another are found through their partial indexes
(mdm/models/decisions.py), not by reading every steward decision: an
unmerge asks whether its merge was unmerged already, and the matching and
the timeline ask which splits were undone. Found by the C3 nightly run on
PostgreSQL, where these reads were sequential scans of a growing table."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mdm.models import StewardDecision
from mdm.selectors.decisions import decision_unmerged_by, splits_undone
from tests.mdm.ui.helpers import make_steward

pytestmark = pytest.mark.django_db

DECISIONS = 3000


@pytest.fixture
def decisions():
    steward = make_steward()
    kinds = [StewardDecision.Kind.MERGE, StewardDecision.Kind.SPLIT]
    made = StewardDecision.objects.bulk_create(
        StewardDecision(
            kind=kinds[n % 2], decided_by=steward, details={"survivor": f"G{n}"}
        )
        for n in range(DECISIONS)
    )
    merge, split = made[0], made[1]
    unmerge = StewardDecision.objects.create(
        kind=StewardDecision.Kind.SPLIT,
        decided_by=steward,
        details={"unmerge_of": merge.pk},
    )
    undo = StewardDecision.objects.create(
        kind=StewardDecision.Kind.MERGE,
        decided_by=steward,
        details={"undo_of": split.pk},
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mdm_stewarddecision")
    return merge, split, unmerge, undo


def _plans(queries) -> list[str]:
    explain = "EXPLAIN " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    plans = []
    with connection.cursor() as cursor:
        for query in queries:
            cursor.execute(explain + query["sql"])
            plans.append(" ".join(str(row) for row in cursor.fetchall()))
    return plans


def test_an_unmerge_is_found_by_its_index(decisions):
    merge, split, unmerge, _undo = decisions
    with CaptureQueriesContext(connection) as captured:
        assert decision_unmerged_by(merge) == unmerge
    assert decision_unmerged_by(split) is None
    (plan,) = _plans(captured.captured_queries)
    assert "decision_unmerges" in plan


def test_undone_splits_are_found_by_their_indexes(decisions):
    _merge, split, _unmerge, undo = decisions
    with CaptureQueriesContext(connection) as captured:
        assert splits_undone() == {split.pk: undo}
    unmerges, undos = _plans(captured.captured_queries)
    assert "decision_unmerges" in unmerges
    assert "decision_split_undos" in undos
