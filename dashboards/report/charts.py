"""Charts of the monthly report, drawn as inline SVG (no plotting library, nothing to install).

Each chart is an ``<svg class="chart" data-chart="...">`` with a title and a text alternative, so
it reads in a browser, prints to PDF as vectors, and makes sense to a screen reader.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

# Colours that stay distinct for the common colour-vision deficiencies (Okabe-Ito palette).
COLOURS: dict[str, str] = {
    "compliment": "#009E73",
    "concern": "#D55E00",
    "neutral": "#999999",
    "previous": "#56B4E9",
    "this month": "#0072B2",
    "posts": "#0072B2",
    "concerns": "#D55E00",
    "compliments": "#009E73",
}
_FALLBACK = ("#0072B2", "#E69F00", "#CC79A7", "#F0E442", "#56B4E9")
_FONT = "font-family:Arial,Helvetica,sans-serif;font-size:11px"


def _colour(name: str, position: int) -> str:
    return COLOURS.get(name, _FALLBACK[position % len(_FALLBACK)])


def _scale_max(values: Sequence[int]) -> int:
    """A round axis maximum at or above the largest value (at least 1)."""
    top = max([*values, 1])
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top <= step * 5:
            return -(-top // step) * step
    return top


def _legend(series: Sequence[str], x: float, y: float) -> str:
    parts = []
    for position, name in enumerate(series):
        left = x + position * 110
        parts.append(
            f'<rect x="{left}" y="{y - 9}" width="10" height="10" '
            f'fill="{_colour(name, position)}"/>'
            f'<text x="{left + 14}" y="{y}" style="{_FONT}">{escape(name)}</text>'
        )
    return "".join(parts)


def _svg(kind: str, title: str, width: int, height: int, body: str, summary: str) -> Markup:
    return Markup(
        f'<svg class="chart" data-chart="{escape(kind)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(summary)}"><title>{escape(title)}</title>'
        f'<text x="0" y="14" style="{_FONT};font-size:13px;font-weight:bold">'
        f"{escape(title)}</text>{body}</svg>"
    )


def horizontal_bars(
    kind: str,
    title: str,
    rows: Sequence[tuple[str, Mapping[str, int]]],
    series: Sequence[str],
    width: int = 640,
) -> Markup:
    """One group of bars per row (e.g. a department), one bar per series (e.g. sentiment)."""
    label_width, bar, gap, top = 190, 8, 5, 44
    plot = width - label_width - 40
    scale = _scale_max([row[1].get(name, 0) for row in rows for name in series])
    group = bar * len(series) + gap
    height = top + max(len(rows), 1) * group + 24
    parts = [_legend(series, label_width, 32)]
    for index, (label, values) in enumerate(rows):
        y = top + index * group
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar * len(series) / 2 + 4}" '
            f'text-anchor="end" style="{_FONT}">{escape(short)}</text>'
        )
        for position, name in enumerate(series):
            value = values.get(name, 0)
            length = plot * value / scale
            top_y = y + position * bar
            parts.append(
                f'<rect class="bar" x="{label_width}" y="{top_y}" width="{length:.1f}" '
                f'height="{bar - 1}" fill="{_colour(name, position)}">'
                f"<title>{escape(label)}, {escape(name)}: {value}</title></rect>"
                f'<text x="{label_width + length + 3:.1f}" y="{top_y + bar - 2}" '
                f'style="{_FONT}">{value}</text>'
            )
    axis_y = top + len(rows) * group
    parts.append(
        f'<line x1="{label_width}" y1="{top - 4}" x2="{label_width}" y2="{axis_y}" stroke="#333"/>'
    )
    summary = "; ".join(
        f"{label}: " + ", ".join(f"{values.get(name, 0)} {name}" for name in series)
        for label, values in rows
    )
    return _svg(kind, title, width, height, "".join(parts), summary or "no data")


def _gridlines(scale: float, left: float, top: float, plot_w: float, plot_h: float) -> list[str]:
    """Five horizontal lines across the plot, from 0 to `scale`, each with its value."""
    parts = []
    for tick in range(5):
        value = scale * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" style="{_FONT}">'
            f"{value:g}</text>"
        )
    return parts


def stacked_columns(
    kind: str,
    title: str,
    columns: Sequence[tuple[str, Mapping[str, int]]],
    series: Sequence[str],
    width: int = 640,
    height: int = 240,
) -> Markup:
    """One column per label (e.g. a day), stacked by series; every 7th label is written."""
    left, top, bottom = 36, 44, 36
    plot_w, plot_h = width - left - 10, height - top - bottom
    scale = _scale_max([sum(values.get(name, 0) for name in series) for _, values in columns])
    slot = plot_w / max(len(columns), 1)
    parts = [_legend(series, left, 32), *_gridlines(scale, left, top, plot_w, plot_h)]
    for index, (label, values) in enumerate(columns):
        x = left + index * slot + slot * 0.15
        base: float = top + plot_h
        for position, name in enumerate(series):
            value = values.get(name, 0)
            if not value:
                continue
            size = plot_h * value / scale
            base -= size
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{base:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{size:.1f}" fill="{_colour(name, position)}">'
                f"<title>{escape(label)}, {escape(name)}: {value}</title></rect>"
            )
        if index % 7 == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 14}" style="{_FONT}">{escape(label)}</text>'
            )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#333"/>'
    )
    total = sum(sum(values.get(name, 0) for name in series) for _, values in columns)
    summary = f"{total} posts over {len(columns)} days"
    return _svg(kind, title, width, height, "".join(parts), summary)


def line_chart(
    kind: str,
    title: str,
    points: Sequence[tuple[str, Mapping[str, int]]],
    series: Sequence[str],
    width: int = 640,
    height: int = 230,
) -> Markup:
    """One line per series over labelled points (e.g. months), each point titled with its value
    and the last one written beside the line."""
    left, top, bottom, right = 40, 44, 30, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    scale = _scale_max([values.get(name, 0) for _, values in points for name in series])
    step = plot_w / max(len(points) - 1, 1)
    parts = [_legend(series, left, 32), *_gridlines(scale, left, top, plot_w, plot_h)]
    for index, (label, _) in enumerate(points):
        parts.append(
            f'<text x="{left + index * step:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
            f'style="{_FONT}">{escape(label)}</text>'
        )
    for position, name in enumerate(series):
        colour = _colour(name, position)
        coordinates = [
            (left + index * step, top + plot_h - plot_h * values.get(name, 0) / scale)
            for index, (_, values) in enumerate(points)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (x, y), (label, values) in zip(coordinates, points, strict=True):
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(label)}, {escape(name)}: {values.get(name, 0)}</title></circle>"
            )
        if coordinates:
            x, y = coordinates[-1]
            parts.append(
                f'<text x="{x + 6:.1f}" y="{y + 4:.1f}" style="{_FONT}">'
                f"{points[-1][1].get(name, 0)}</text>"
            )
    summary = "; ".join(
        f"{label}: " + ", ".join(f"{values.get(name, 0)} {name}" for name in series)
        for label, values in points
    )
    return _svg(kind, title, width, height, "".join(parts), summary or "no data")
