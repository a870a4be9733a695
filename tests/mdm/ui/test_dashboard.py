"""The dashboard's figures and its server-drawn charts."""

import pytest
from django.urls import reverse
from django.utils import timezone

from mdm.selectors.dashboard import StewardTaskActions, dashboard_stats
from mdm.services.steward_queue import (
    review_task_claim,
    review_task_defer,
    review_task_merge,
    review_task_skip,
)
from mdm.views.charts import Series, nice_ceiling, rate_bars, stacked_columns
from tests.mdm.ui.helpers import make_steward, make_task, versions_of

pytestmark = pytest.mark.django_db


def test_the_dashboard_counts_the_queue_and_the_decisions(steward_client, steward):
    merged, skipped = make_task(score=0.93), make_task()
    make_task(score=0.55)
    review_task_merge(
        task=merged,
        steward=steward,
        reason="",
        keep="left",
        overrides={},
        versions=versions_of(merged),
    )
    review_task_skip(task=skipped, steward=steward)
    stats = dashboard_stats(now=timezone.now())
    assert stats.queue_open == 1
    assert dict(stats.queue_age)["lt1"] == 1
    assert stats.decisions == {"alice": {timezone.localdate(): 1}}
    assert stats.outcomes == {"auto_merge": 0, "review": 6, "new": 0}
    erp = next(d for d in stats.duplicates if d.code == "erp")
    assert (erp.records, erp.duplicates) == (6, 2)
    assert sum(b.open + b.decided for b in stats.scores) == 3
    assert stats.parked == {"skipped": 1, "deferred": 0}
    assert stats.task_actions == [
        StewardTaskActions("alice", merged=1, not_a_match=0, skipped=1, deferred=0)
    ]
    response = steward_client.get(reverse("dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") == 4
    assert "<rect" in html


def test_skips_and_deferrals_count_per_steward_but_claims_do_not(steward_client):
    bob = make_steward("bob")
    first, second = make_task(), make_task()
    review_task_claim(task=first, steward=bob)
    review_task_defer(task=first, steward=bob, comment="waiting for finance")
    review_task_skip(task=second, steward=bob)
    stats = dashboard_stats(now=timezone.now())
    assert stats.parked == {"skipped": 1, "deferred": 1}
    assert stats.task_actions == [
        StewardTaskActions("bob", merged=0, not_a_match=0, skipped=1, deferred=1)
    ]
    html = steward_client.get(reverse("dashboard")).content.decode()
    assert "<td>bob</td>" in html


def test_the_dashboard_works_on_an_empty_database(steward_client):
    response = steward_client.get(reverse("dashboard"))
    assert response.status_code == 200


def test_nice_ceilings():
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 12, 49, 51)] == [
        1,
        1,
        5,
        10,
        20,
        50,
        100,
    ]


def test_stacked_columns_are_proportional_and_stacked():
    chart = stacked_columns(
        ["a", "b"], [Series("x", "s0", [4, 2]), Series("y", "s1", [4, 0])], height=200
    )
    heights = [round(r.height, 3) for r in chart.rects]
    # 8 at most: gridlines 0, 2, 4, 6, 8; a 4 is half the plot height.
    assert [label for _, label in chart.gridlines] == ["0", "2", "4", "6", "8"]
    assert heights[0] == heights[1] == 2 * heights[2]
    first, second = chart.rects[0], chart.rects[1]
    assert second.y + second.height == pytest.approx(first.y)
    assert chart.legend == [("s0", "x"), ("s1", "y")]


def test_rate_bars_show_the_share():
    chart = rate_bars([("erp", 1, 4), ("crm", 0, 0)])
    assert [label.text for label in chart.labels if label.anchor == "start"] == [
        "25.0%",
        "0.0%",
    ]
