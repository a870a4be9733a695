"""The steward dashboard: queue, decisions, match outcomes, duplicates and
scores, drawn as inline SVG on the server."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from mdm.selectors.dashboard import dashboard_stats
from mdm.views.access import reader_required
from mdm.views.charts import Series, rate_bars, share_bar, stacked_columns

# Series colours are CSS classes s0..s5 in app.css.
PALETTE_SIZE = 6


@reader_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    stats = dashboard_stats(now=now)
    decisions = stacked_columns(
        [day.strftime("%m-%d") for day in stats.days],
        [
            Series(
                name,
                f"s{index % PALETTE_SIZE}",
                [per_day.get(d, 0) for d in stats.days],
            )
            for index, (name, per_day) in enumerate(stats.decisions.items())
        ],
        width=1280,
        label_every=1,
    )
    outcomes = share_bar(
        [
            (_("auto-merged"), "s0", stats.outcomes["auto_merge"]),
            (_("seen by a steward"), "s1", stats.outcomes["review"]),
            (_("new customer"), "s2", stats.outcomes["new"]),
        ]
    )
    duplicates = rate_bars(
        [(d.name, d.duplicates, d.records) for d in stats.duplicates]
    )
    scores = stacked_columns(
        [f"{b.low:.2f}" for b in stats.scores],
        [
            Series(_("open tasks"), "s0", [b.open for b in stats.scores]),
            Series(_("decided tasks"), "s1", [b.decided for b in stats.scores]),
            Series(_("automatic links"), "s2", [b.auto for b in stats.scores]),
        ],
        width=1280,
    )
    context = {
        "stats": stats,
        "now": now,
        "decisions_chart": decisions,
        "outcomes_chart": outcomes,
        "outcomes_total": sum(stats.outcomes.values()),
        "duplicates_chart": duplicates,
        "scores_chart": scores,
    }
    return render(request, "mdm/dashboard.html", context)
