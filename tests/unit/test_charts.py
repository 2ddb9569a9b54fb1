"""The SVG charts, read back as XML: lines at the right height, crossings marked, text for
screen readers, user text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from adapters.web.charts import (
    RunPoint,
    Series,
    age_bands,
    bar_chart,
    run_chart,
    trend_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(fragment: str) -> ET.Element:
    return ET.fromstring(fragment)


def svg_of(figure: ET.Element) -> ET.Element:
    svg = figure.find(f"{SVG}svg")
    assert svg is not None
    return svg


def by_class(svg: ET.Element, tag: str, css: str) -> list[ET.Element]:
    return [e for e in svg.iter(f"{SVG}{tag}") if css in e.get("class", "").split()]


def points(*values: tuple[float, str]) -> list[RunPoint]:
    start = date(2026, 9, 7)
    return [
        RunPoint(on=start + timedelta(weeks=i), value=v, level=level)
        for i, (v, level) in enumerate(values)
    ]


def sepsis_chart() -> ET.Element:
    return parse(
        run_chart(
            chart_id="kpi-1",
            name="Antibiotics < 1 h",
            unit="%",
            points=points((85, "ok"), (80, "warn"), (90, "ok"), (70, "alert"), (86, "ok")),
            target=90,
            warn=80,
            alert=70,
        )
    )


def test_threshold_lines_sit_at_the_height_of_their_values() -> None:
    svg = svg_of(sepsis_chart())
    y = {
        kind: float(by_class(svg, "line", kind)[0].get("y1", ""))
        for kind in ("target", "warn", "alert")
    }
    # Higher values are higher up (smaller y), and equal steps in value are equal steps in y.
    assert y["target"] < y["warn"] < y["alert"]
    assert abs((y["warn"] - y["target"]) - (y["alert"] - y["warn"])) < 0.01
    # A point whose value equals a threshold is drawn on that threshold's line.
    circles = by_class(svg, "circle", "point")
    assert float(circles[1].get("cy", "")) == y["warn"]
    assert float(circles[3].get("cy", "")) == y["alert"]
    assert float(circles[2].get("cy", "")) == y["target"]
    labels = [t.text for t in by_class(svg, "text", "threshold-label")]
    assert labels == ["target 90", "warn 80", "alert 70"]


def test_points_that_crossed_a_threshold_are_marked() -> None:
    svg = svg_of(sepsis_chart())
    crossed = by_class(svg, "circle", "crossed")
    assert [c.findtext(f"{SVG}title") for c in crossed] == [
        "2026-09-14: 80 % (crossed warn)",
        "2026-09-28: 70 % (crossed alert)",
    ]
    plain = [c for c in by_class(svg, "circle", "point") if c not in crossed]
    assert all(float(c.get("r", "")) < float(crossed[0].get("r", "")) for c in plain)
    assert {c.get("fill") for c in crossed} != {plain[0].get("fill")}


def test_a_run_chart_speaks_to_screen_readers() -> None:
    figure = sepsis_chart()
    svg = svg_of(figure)
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "kpi-1-title kpi-1-desc"
    assert svg.findtext(f"{SVG}title") == "Antibiotics < 1 h: run chart"
    desc = svg.findtext(f"{SVG}desc") or ""
    assert "5 values from 2026-09-07 to 2026-10-05; latest 86 % (within thresholds)." in desc
    assert "Lines: target 90 %, warn 80 %, alert 70 %. 2 of them crossed a threshold." in desc
    rows = [[td.text for td in tr.iter("td")] for tr in figure.iter("tr")][1:]
    assert rows[3] == ["2026-09-28", "70", "crossed alert"]


def test_user_text_is_escaped() -> None:
    fragment = run_chart(
        chart_id="kpi-2",
        name="<script>alert(1)</script>",
        unit='"&',
        points=points((1, "ok")),
        target=None,
        warn=None,
        alert=None,
    )
    assert "<script>" not in fragment
    assert parse(fragment).find(".//caption") is not None  # still well-formed


def test_a_chart_with_no_values_says_so() -> None:
    svg = svg_of(
        parse(
            run_chart(
                chart_id="kpi-3", name="Falls", unit="", points=[], target=2, warn=None, alert=None
            )
        )
    )
    assert (svg.findtext(f"{SVG}desc") or "").startswith("No values recorded yet.")
    assert len(by_class(svg, "line", "threshold")) == 1


def test_ask_ageing_counts_open_asks_by_band() -> None:
    bands = age_bands([0, 3, 6, 7, 13, 20, 40, 90])
    assert bands == [("under 1 week", 3), ("1–2 weeks", 2), ("2–4 weeks", 1), ("over 4 weeks", 2)]
    svg = svg_of(
        parse(bar_chart(chart_id="ageing", title="Open asks by age", bars=bands, noun="open asks"))
    )
    heights = [float(r.get("height", "")) for r in by_class(svg, "rect", "bar")]
    assert heights[0] == max(heights)
    assert heights[0] == pytest.approx(1.5 * heights[1], abs=0.02)
    assert heights[1] == heights[3] == pytest.approx(2 * heights[2], abs=0.02)
    assert svg.findtext(f"{SVG}desc") == (
        "8 open asks: under 1 week 3; 1–2 weeks 2; 2–4 weeks 1; over 4 weeks 2."
    )


def test_a_trend_leaves_a_gap_for_a_week_without_a_figure() -> None:
    labels = [f"2026-W{n}" for n in range(38, 50)]
    values = (1.0, 2.0, None, 3.0, 4.0, 2.0, None, None, 1.0, 1.5, 2.0, 1.0)
    figure = parse(
        trend_chart(
            chart_id="trend",
            title="Median days to decide",
            labels=labels,
            series=[Series(name="to decide", css="decide", values=values)],
            unit="days",
        )
    )
    svg = svg_of(figure)
    lines = by_class(svg, "polyline", "decide")
    assert [len(line.get("points", "").split()) for line in lines] == [2, 3, 4]
    assert len(by_class(svg, "circle", "point")) == 9
    assert svg.findtext(f"{SVG}desc") == (
        "12 weeks from 2026-W38 to 2026-W49; latest: to decide 1 day."
    )
    rows = [[td.text for td in tr.iter("td")] for tr in figure.iter("tr")][1:]
    assert rows[2] == ["2026-W40", None]
    assert len(rows) == 12


def test_a_trend_without_any_figure_says_so() -> None:
    svg = svg_of(
        parse(
            trend_chart(
                chart_id="empty",
                title="Median days to decide",
                labels=["2026-W48", "2026-W49"],
                series=[Series(name="to decide", css="decide", values=(None, None))],
                unit="days",
            )
        )
    )
    assert [t.text for t in by_class(svg, "text", "no-data")] == ["No figures in these weeks"]
    assert by_class(svg, "polyline", "decide") == []
