"""Chart geometry for server-rendered inline SVG (templates/mdm/_chart.html):
no chart library, no script, and it prints."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

PLOT_LEFT = 36  # room for the y-axis labels
PLOT_BOTTOM = 22  # room for the x-axis labels
PLOT_TOP = 8


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    gridlines: list[tuple[float, str]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css, label)
    plot_left: float = PLOT_LEFT
    plot_right: float = 0


@dataclass(frozen=True)
class Series:
    label: str
    css: str
    values: Sequence[int]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def stacked_columns(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = 640,
    height: int = 200,
    label_every: int = 1,
) -> Chart:
    """One column per category, the series stacked bottom-up."""
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    # Four gridlines a whole number apart.
    step = nice_ceiling(max(totals, default=0) / 4)
    top = 4 * step
    plot_width = width - PLOT_LEFT - 4
    plot_height = height - PLOT_TOP - PLOT_BOTTOM
    slot = plot_width / max(1, len(categories))
    bar = max(1.0, slot * 0.75)
    rects, labels = [], []
    for index, category in enumerate(categories):
        x = PLOT_LEFT + index * slot + (slot - bar) / 2
        base = height - PLOT_BOTTOM
        for s in series:
            value = s.values[index]
            if not value:
                continue
            h = plot_height * value / top
            base -= h
            rects.append(
                Rect(x, base, bar, h, s.css, f"{category} · {s.label}: {value}")
            )
        if index % label_every == 0:
            labels.append(Label(x + bar / 2, height - 6, category))
    gridlines = [
        (height - PLOT_BOTTOM - plot_height * k / 4, _number(step * k))
        for k in range(5)
    ]
    return Chart(
        width=width,
        height=height,
        rects=rects,
        labels=labels,
        gridlines=gridlines,
        legend=[(s.css, s.label) for s in series],
        plot_right=width - 4,
    )


def rate_bars(
    rows: Sequence[tuple[str, int, int]], *, width: int = 600, row_height: int = 26
) -> Chart:
    """Horizontal bars of part / whole, e.g. duplicates / records per system."""
    label_width = 170
    bar_space = width - label_width - 60
    rects, labels = [], []
    for index, (label, part, whole) in enumerate(rows):
        y = index * row_height + 4
        rate = part / whole if whole else 0.0
        rects.append(
            Rect(label_width, y, bar_space, row_height - 10, "track", f"{label}")
        )
        rects.append(
            Rect(
                label_width,
                y,
                bar_space * rate,
                row_height - 10,
                "s0",
                f"{label}: {part} / {whole}",
            )
        )
        labels.append(Label(label_width - 6, y + row_height - 13, label, "end"))
        labels.append(
            Label(
                label_width + bar_space + 6,
                y + row_height - 13,
                f"{rate:.1%}",
                "start",
            )
        )
    return Chart(
        width=width,
        height=max(1, len(rows)) * row_height + 4,
        rects=rects,
        labels=labels,
    )


def share_bar(
    parts: Sequence[tuple[str, str, int]], *, width: int = 600, height: int = 28
) -> Chart:
    """One bar split into shares, e.g. auto-merge / review / new."""
    total = sum(value for _label, _css, value in parts)
    rects, x = [], 0.0
    for label, css, value in parts:
        if not value:
            continue
        w = width * value / total
        rects.append(
            Rect(x, 0, w, height, css, f"{label}: {value} ({value / total:.1%})")
        )
        x += w
    return Chart(
        width=width,
        height=height,
        rects=rects,
        legend=[(css, label) for label, css, _value in parts],
    )


def _number(value: float) -> str:
    return f"{value:g}"
