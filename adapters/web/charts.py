"""Server-rendered SVG charts: KPI run charts, ask ageing, responsiveness trends (issue 12 §2).

Pure functions of data to an HTML fragment (a ``<figure>`` holding the ``<svg>`` and a data
table), so a page works offline, needs no JavaScript and prints; templates insert the fragment
with ``Markup``. Every piece of user text (a measure's name, its unit) is escaped here.

Accessibility: each ``<svg>`` has ``role="img"`` and is labelled by its own ``<title>`` and
``<desc>`` (a sentence that says what a sighted reader would see), and the same numbers follow
as a table inside ``<details>``, which screen readers and keyboards open like any other.
The SVG scales to its container (``viewBox``, width 100%), so it never overflows a phone.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 88, 16, 32
"""Plot margins: room for value labels on the left and threshold labels on the right."""

COLOURS = {
    "target": "#2e7d32",
    "warn": "#b26a00",
    "alert": "#c62828",
    "ok": "#1f5fa8",
    "series": "#1f5fa8",
    "decide": "#1f5fa8",
    "unblock": "#6a3d9a",
    "open": "#1f5fa8",
    "overdue": "#c62828",
}
"""Stroke and fill of each kind of mark, as attributes, so a chart needs no stylesheet."""

LEVEL_LABEL = {"ok": "within thresholds", "warn": "crossed warn", "alert": "crossed alert"}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


_AXIS = 'stroke="#999"'
_TEXT = 'font-size="14" fill="#555"'


def _colour(css: str) -> str:
    """The colour of a mark from the last of its classes (``series overdue`` → overdue's)."""
    return COLOURS.get(css.split()[-1], COLOURS["series"])


def _level(level: str) -> str:
    return LEVEL_LABEL.get(level, level)


def _cell(value: float | None) -> str:
    return "" if value is None else number(value)


def number(value: float) -> str:
    """``72``, ``72.5``: no trailing ``.0``."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Scale:
    """Maps values to the plot's y (SVG y grows downwards) and positions to its x."""

    low: float
    high: float
    count: int
    """How many x positions (points or bars)."""
    lowest: float = 0.0
    highest: float = 1.0
    """The smallest and largest value shown: the y axis is labelled with these."""

    def y(self, value: float) -> float:
        plot = HEIGHT - TOP - BOTTOM
        return round(TOP + (self.high - value) / (self.high - self.low) * plot, 2)

    def x(self, index: int) -> float:
        plot = WIDTH - LEFT - RIGHT
        if self.count <= 1:
            return LEFT + plot / 2
        return round(LEFT + index * plot / (self.count - 1), 2)


def scale_for(values: Sequence[float], count: int, *, floor: float | None = None) -> Scale:
    """A scale that shows every value with a tenth of headroom; ``floor`` pins the bottom
    (counts and durations start at 0)."""
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if floor is not None:
        low = min(low, floor)
    pad = (high - low) / 10 or 1.0
    return Scale(low if floor is not None else low - pad, high + pad, count, low, high)


def _frame(chart_id: str, title: str, desc: str, body: list[str]) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{_e(title)}</title>'
        f'<desc id="{chart_id}-desc">{_e(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _axes(scale: Scale, first: str, last: str) -> list[str]:
    bottom = HEIGHT - BOTTOM
    return [
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" {_AXIS} />',
        f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" '
        f"{_AXIS} />",
        *(
            f'<text class="tick" x="{LEFT - 4}" y="{scale.y(value) + 4}" text-anchor="end" '
            f"{_TEXT}>{_e(number(value))}</text>"
            for value in sorted({scale.lowest, scale.highest})
        ),
        f'<text class="tick" x="{LEFT}" y="{HEIGHT - 8}" {_TEXT}>{_e(first)}</text>',
        f'<text class="tick" x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end" {_TEXT}>'
        f"{_e(last)}</text>",
    ]


def _polyline(css: str, scale: Scale, values: Sequence[float | None]) -> list[str]:
    """One line per unbroken run of values (a week with no figure leaves a gap)."""
    runs: list[list[str]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append(f"{scale.x(index)},{scale.y(value)}")
    return [
        f'<polyline class="{css}" fill="none" stroke="{_colour(css)}" stroke-width="2" '
        f'points="{" ".join(run)}" />'
        for run in runs
        if len(run) > 1
    ]


def _table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The chart's numbers as a table (cells labelled for the phone layout's stacked cards)."""
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td data-label="{_e(h)}">{_e(c)}</td>' for h, c in zip(headers, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<details class="chart-data"><summary>Data: {_e(caption)}</summary>'
        f'<table class="rows"><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></details>"
    )


def _figure(svg: str, table: str) -> str:
    return f'<figure class="chart">{svg}<figcaption>{table}</figcaption></figure>'


@dataclass(frozen=True, kw_only=True)
class RunPoint:
    on: date
    value: float
    level: str
    """``ok``, ``warn`` or ``alert``: as recorded when the value came in."""


def run_chart(
    *,
    chart_id: str,
    name: str,
    unit: str,
    points: Sequence[RunPoint],
    target: float | None,
    warn: float | None,
    alert: float | None,
) -> str:
    """A KPI's values over time with its target, warn and alert lines; points that crossed a
    threshold are drawn larger, in the threshold's colour, and named in their tooltip."""
    lines = {"target": target, "warn": warn, "alert": alert}
    drawn = {k: v for k, v in lines.items() if v is not None}
    scale = scale_for([p.value for p in points] + list(drawn.values()), len(points))
    suffix = f" {unit}" if unit else ""
    body = _axes(
        scale,
        points[0].on.strftime("%d %b %Y") if points else "",
        points[-1].on.strftime("%d %b %Y") if points else "",
    )
    for kind, value in drawn.items():
        y = scale.y(value)
        body.append(
            f'<line class="threshold {kind}" data-value="{_e(number(value))}" x1="{LEFT}" '
            f'y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="{COLOURS[kind]}" '
            f'stroke-dasharray="6 4" />'
            f'<text class="threshold-label {kind}" x="{WIDTH - RIGHT + 4}" y="{y + 4}" '
            f'font-size="14" fill="{COLOURS[kind]}">{kind} {_e(number(value))}</text>'
        )
    body += _polyline("series", scale, [p.value for p in points])
    for index, p in enumerate(points):
        crossed = p.level in ("warn", "alert")
        body.append(
            f'<circle class="point {p.level}{" crossed" if crossed else ""}" '
            f'cx="{scale.x(index)}" cy="{scale.y(p.value)}" r="{6 if crossed else 3.5}" '
            f'fill="{_colour(p.level)}" stroke="#fff">'
            f"<title>{_e(p.on.isoformat())}: {_e(number(p.value))}{_e(suffix)} "
            f"({_level(p.level)})</title></circle>"
        )
    title = f"{name}: run chart"
    crossed_count = sum(1 for p in points if p.level in ("warn", "alert"))
    if points:
        latest = points[-1]
        desc = (
            f"{len(points)} values from {points[0].on.isoformat()} to {latest.on.isoformat()}; "
            f"latest {number(latest.value)}{suffix} ({_level(latest.level)})."
        )
    else:
        desc = "No values recorded yet."
    limits = ", ".join(f"{k} {number(v)}{suffix}" for k, v in drawn.items())
    if limits:
        desc += f" Lines: {limits}."
    desc += f" {crossed_count} of them crossed a threshold." if points else ""
    table = _table(
        name,
        ["Date", f"Value{f' ({unit})' if unit else ''}", "Level"],
        [(p.on.isoformat(), number(p.value), _level(p.level)) for p in points],
    )
    return _figure(_frame(chart_id, title, desc, body), table)


AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("under 1 week", 7),
    ("1–2 weeks", 14),
    ("2–4 weeks", 28),
    ("over 4 weeks", 10**9),
)
"""Label and exclusive upper bound in days of each band of the ask-ageing chart."""


def age_bands(ages_in_days: Sequence[int]) -> list[tuple[str, int]]:
    """How many open asks fall in each age band, youngest band first."""
    counts = [0] * len(AGE_BANDS)
    for age in ages_in_days:
        counts[next(i for i, (_, bound) in enumerate(AGE_BANDS) if age < bound)] += 1
    return [(label, n) for (label, _), n in zip(AGE_BANDS, counts, strict=True)]


def bar_chart(*, chart_id: str, title: str, bars: Sequence[tuple[str, int]], noun: str) -> str:
    """Counts as vertical bars with their number on top (e.g. open asks by age band)."""
    scale = scale_for([float(n) for _, n in bars], len(bars) + 1, floor=0)
    plot = WIDTH - LEFT - RIGHT
    width = plot / max(len(bars), 1)
    body = _axes(scale, "", "")
    bottom = HEIGHT - BOTTOM
    for index, (label, count) in enumerate(bars):
        x, top = LEFT + index * width, scale.y(count)
        body.append(
            f'<rect class="bar" x="{round(x + width * 0.15, 2)}" y="{top}" '
            f'width="{round(width * 0.7, 2)}" height="{round(bottom - top, 2)}" '
            f'fill="{COLOURS["series"]}">'
            f"<title>{_e(label)}: {count}</title></rect>"
            f'<text class="bar-value" x="{round(x + width / 2, 2)}" y="{top - 4}" '
            f'text-anchor="middle" {_TEXT}>{count}</text>'
            f'<text class="tick" x="{round(x + width / 2, 2)}" y="{HEIGHT - 8}" '
            f'text-anchor="middle" {_TEXT}>{_e(label)}</text>'
        )
    total = sum(n for _, n in bars)
    desc = f"{total} {noun}: " + "; ".join(f"{label} {n}" for label, n in bars) + "."
    table = _table(title, ["Band", "Count"], [(label, str(n)) for label, n in bars])
    return _figure(_frame(chart_id, title, desc, body), table)


@dataclass(frozen=True, kw_only=True)
class Series:
    name: str
    css: str
    """Class of its line (``decide``, ``unblock``, ``open``, ``overdue``), for its colour."""
    values: tuple[float | None, ...]
    """One per label; None where the week has no figure (drawn as a gap)."""


def trend_chart(
    *, chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], unit: str
) -> str:
    """Weekly figures as lines (responsiveness trends), one per series, with a legend."""
    known = [v for s in series for v in s.values if v is not None]
    scale = scale_for(known, len(labels), floor=0)
    body = _axes(scale, labels[0] if labels else "", labels[-1] if labels else "")
    if not known:
        body.append(
            f'<text class="no-data" x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT / 2}" '
            f'text-anchor="middle" {_TEXT}>No figures in these weeks</text>'
        )
    for row, s in enumerate(series):
        body += _polyline(f"series {s.css}", scale, s.values)
        for index, value in enumerate(s.values):
            if value is not None:
                body.append(
                    f'<circle class="point {s.css}" cx="{scale.x(index)}" '
                    f'cy="{scale.y(value)}" r="3" fill="{_colour(s.css)}">'
                    f"<title>{_e(labels[index])}: "
                    f"{_e(number(value))} {_e(unit)}</title></circle>"
                )
        y = TOP + 12 + row * 16
        body.append(
            f'<text class="legend {s.css}" x="{WIDTH - RIGHT + 4}" y="{y}" font-size="14" '
            f'fill="{_colour(s.css)}">{_e(s.name)}</text>'
        )

    def latest(s: Series) -> str:
        values = [v for v in s.values if v is not None]
        if not values:
            return f"{s.name}: no figure"
        one = values[-1] == 1 and unit.endswith("s")
        return f"{s.name} {number(values[-1])} {unit[:-1] if one else unit}"

    desc = (
        f"{len(labels)} weeks"
        + (f" from {labels[0]} to {labels[-1]}" if labels else "")
        + "; latest: "
        + "; ".join(latest(s) for s in series)
        + "."
    )
    table = _table(
        title,
        ["Week", *(f"{s.name} ({unit})" for s in series)],
        [(label, *(_cell(s.values[i]) for s in series)) for i, label in enumerate(labels)],
    )
    return _figure(_frame(chart_id, title, desc, body), table)
