"""Bar charts as inline SVG geometry, computed here so the template only draws rectangles: no
charting library, no script, nothing for the Content-Security-Policy to allow."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 900, 220
LEFT, BOTTOM, TOP = 44, 24, 10  # room for the axis labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    title: str  # what a pointer hovering over it (and a screen reader) is told


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]  # (x, text) under the bars; thinned out when days are many
    peak: int  # the value at the top of the axis
    baseline: float


def stacked_bars(columns: list[str], series: list[str], counts: dict[tuple[str, str], int]) -> Chart:
    """One bar per column (a day), stacked by series in the given order; `counts[(column, series)]`."""
    totals = [sum(counts.get((column, name), 0) for name in series) for column in columns]
    peak = max(totals, default=0) or 1
    plot_height = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT) / max(len(columns), 1)
    bars = []
    for index, column in enumerate(columns):
        top = float(HEIGHT - BOTTOM)
        for name in series:
            value = counts.get((column, name), 0)
            if not value:
                continue
            height = plot_height * value / peak
            top -= height
            x = LEFT + index * step + step * 0.15
            bars.append(
                Bar(
                    round(x, 1),
                    round(top, 1),
                    round(step * 0.7, 1),
                    round(height, 1),
                    name,
                    f"{column}: {value} {name}",
                )
            )
    every = max(1, len(columns) // 10)
    labels = [(round(LEFT + (i + 0.5) * step, 1), c[5:]) for i, c in enumerate(columns) if i % every == 0]
    return Chart(WIDTH, HEIGHT, bars, labels, peak, HEIGHT - BOTTOM)
