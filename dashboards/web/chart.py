"""The 30-day chart of mentions by sentiment, drawn on the server as inline SVG.

No chart library and no CDN: the machines are offline, and SVG made here needs no script. The
colours come from the stylesheet (classes per sentiment), and every bar has a ``<title>``; the
page also shows the same numbers as a table for screen readers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

from socmon.records import SENTIMENTS, Sentiment

WIDTH = 960
HEIGHT = 200
MARGIN_LEFT = 36
MARGIN_BOTTOM = 28
MARGIN_TOP = 10
MARGIN_RIGHT = 24  # room for the last date label


@dataclass(frozen=True)
class DayCount:
    """The mentions of one day, by sentiment."""

    day: date
    counts: dict[Sentiment, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def daily_counts(
    counts: Mapping[tuple[str, ...], int], last_day: date, days: int = 30
) -> list[DayCount]:
    """Per-day rows for the `days` days ending with `last_day` (oldest first), from the index's
    ``count_posts(query, by=("day", "sentiment"))`` answer; days without posts count zero."""
    first_day = last_day - timedelta(days=days - 1)
    result = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        text = day.isoformat()
        result.append(DayCount(day, {s: counts.get((text, s), 0) for s in SENTIMENTS}))
    return result


def _nice_ceiling(value: int) -> int:
    """A round axis maximum at or above `value` whose half is whole too (1, 2, 4, 6, 8, 10, 20,
    40…)."""
    step = 1
    while True:
        for factor in (1, 2, 4, 6, 8):
            if step * factor >= value:
                return step * factor
        step *= 10


def render_chart(days: list[DayCount], title: str) -> Markup:
    """Stacked bars per day (concern at the bottom, where a rise is easiest to see)."""
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    top = _nice_ceiling(max((d.total for d in days), default=0) or 1)
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.75, 1.0)
    parts: list[str] = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    for tick in (0, top // 2, top) if top > 1 else (0, top):
        y = MARGIN_TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{tick}</text>'
        )
    order: tuple[Sentiment, ...] = ("concern", "neutral", "compliment")
    for i, day in enumerate(days):
        x = MARGIN_LEFT + i * slot + (slot - bar_w) / 2
        base = float(MARGIN_TOP + plot_h)
        label = day.day.strftime("%a %d %b")
        summary = ", ".join(f"{day.counts[s]} {s}" for s in order)
        parts.append(f'<g class="day"><title>{escape(label)}: {escape(summary)}</title>')
        # a transparent full-height bar, so the tooltip also works on quiet days
        parts.append(
            f'<rect class="hit" x="{x:.1f}" y="{MARGIN_TOP}" width="{bar_w:.1f}" '
            f'height="{plot_h}"/>'
        )
        for sentiment in order:
            count = day.counts[sentiment]
            if not count:
                continue
            h = plot_h * count / top
            base -= h
            parts.append(
                f'<rect class="bar {sentiment}" x="{x:.1f}" y="{base:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}"/>'
            )
        parts.append("</g>")
        # a date every week, counted back from the last day, so today is always labelled
        if (len(days) - 1 - i) % 7 == 0:
            parts.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{escape(day.day.strftime("%d %b"))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
