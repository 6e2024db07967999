"""The server-side SVG charts: the same scale whatever the data, numbers that read right."""

from __future__ import annotations

import re

from service.web import charts


def _viewbox_width(svg: str) -> int:
    match = re.search(r'viewBox="0 0 (\d+) \d+"', svg)
    assert match is not None
    return int(match.group(1))


def _series(n: int) -> list[charts.Series]:
    return [charts.Series("people", [5] * n, charts.PEOPLE), charts.Series("bots", [1] * n, charts.BOTS)]


def test_one_day_is_drawn_at_the_same_scale_as_a_fortnight() -> None:
    one = str(charts.column_chart("t", "d", ["Nov 28"], _series(1)))
    fortnight = str(charts.column_chart("t", "d", [f"Nov {d}" for d in range(1, 15)], _series(14)))
    assert _viewbox_width(one) == _viewbox_width(fortnight) == charts.WIDTH
    # Many days widen the chart instead of squeezing the columns below legibility.
    many = str(charts.column_chart("t", "d", [str(d) for d in range(60)], _series(60)))
    assert _viewbox_width(many) > charts.WIDTH


def test_counts_are_singular_for_one() -> None:
    svg = str(charts.hbar_chart("t", "d", ["One week out"], _series(1)))
    assert ">5 people<" in svg and ">1 bot<" in svg and "1 bots" not in svg
    assert charts.counted(1, "people") == "1 person" and charts.counted(0, "bots") == "0 bots"


def test_labels_and_titles_are_escaped() -> None:
    svg = str(charts.hbar_chart("<b>t</b>", "d", ["<script>x</script>"], _series(1)))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
