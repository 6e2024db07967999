"""Server-side SVG charts: no script, no CDN, readable without colour (patterns, labels, numbers on the bars).

Every chart is an `<svg role="img">` with a <title> and <desc>, a <title> per bar (hover text and screen
readers), the number written beside each bar, and people (solid) and bots (hatched) told apart by pattern
and legend text as well as colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

_ids = count(1)


@dataclass(frozen=True)
class Series:
    """One kind of click drawn in a chart."""

    name: str  # "people", "bots"
    values: Sequence[int]
    css: str  # bar class: fill and pattern come from app.css / <defs>


PEOPLE = "bar-people"
BOTS = "bar-bots"
# "1 people" reads wrong: the singular of each series name the page uses.
_ONE = {"people": "person", "bots": "bot", "clicks": "click"}
WIDTH = 640  # every chart's viewBox is this wide, so text is the same size whatever the data


def counted(value: int, name: str) -> str:
    """A number with its series name, singular for one ("1 person", "3 people")."""
    return f"{value} {_ONE.get(name, name) if value == 1 else name}"


def _defs(uid: str) -> str:
    # The hatch that marks bot bars, so the difference does not depend on colour.
    return (
        f'<defs><pattern id="hatch-{uid}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/>'
        '<line x1="0" y1="0" x2="0" y2="6" class="hatch-line" stroke-width="3"/></pattern></defs>'
    )


def _fill(series: Series, uid: str) -> str:
    return f' fill="url(#hatch-{uid})"' if series.css == BOTS else ""


def _legend(series: Sequence[Series], uid: str, y: int) -> str:
    parts, x = [], 0
    for s in series:
        parts.append(
            f'<rect x="{x}" y="{y}" width="14" height="14" class="{s.css}"{_fill(s, uid)}/>'
            f'<text x="{x + 20}" y="{y + 12}" class="legend">{escape(s.name)}</text>'
        )
        x += 30 + 9 * len(s.name)
    return "".join(parts)


def _opening(uid: str, width: int, height: int, title: str, desc: str, series: Sequence[Series]) -> list[str]:
    """The start every chart shares: the <svg> with its title and description, the hatch, the legend."""
    return [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="t{uid} d{uid}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="t{uid}">{escape(title)}</title><desc id="d{uid}">{escape(desc)}</desc>',
        _defs(uid),
        _legend(series, uid, 4),
    ]


def hbar_chart(title: str, desc: str, labels: Sequence[str], series: Sequence[Series], unit: str = "clicks") -> Markup:
    """Horizontal grouped bars, one group per label (step, channel)."""
    uid = str(next(_ids))
    label_w, bar_h, gap, width = 170, 16, 14, WIDTH
    plot_w = width - label_w - 110
    top = 28
    group_h = bar_h * len(series) + gap
    height = top + group_h * max(1, len(labels)) + 10
    peak = max([v for s in series for v in s.values] + [1])
    out = _opening(uid, width, height, title, desc, series)
    for i, label in enumerate(labels):
        y0 = top + i * group_h
        short = label if len(label) <= 24 else label[:23] + "…"
        out.append(
            f'<text x="{label_w - 8}" y="{y0 + bar_h * len(series) / 2 + 5}" text-anchor="end" class="axis">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
        for j, s in enumerate(series):
            v = s.values[i]
            w = max(round(plot_w * v / peak), 2 if v else 0)
            y = y0 + j * bar_h
            out.append(
                f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h - 3}" class="{s.css}"{_fill(s, uid)}>'
                f"<title>{escape(label)}: {escape(counted(v, unit))} by {escape(s.name)}</title></rect>"
                f'<text x="{label_w + w + 6}" y="{y + bar_h - 5}" class="value">{escape(counted(v, s.name))}</text>'
            )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text in `out` went through escape())


def column_chart(
    title: str, desc: str, labels: Sequence[str], series: Sequence[Series], unit: str = "clicks"
) -> Markup:
    """Vertical grouped columns over time (one group per day), numbers above non-zero columns."""
    uid = str(next(_ids))
    n = max(1, len(labels))
    left, top, plot_h = 10, 34, 150
    # Few days: columns at most 80 wide, from the left; many days: narrower, the chart grows past WIDTH.
    group_w = max(28, min(80, (WIDTH - 2 * left) // n))
    col_w = max(6, (group_w - 8) // len(series))
    width = max(WIDTH, left * 2 + group_w * n)
    height = top + plot_h + 44
    peak = max([v for s in series for v in s.values] + [1])
    base = top + plot_h
    out = _opening(uid, width, height, title, desc, series)
    out.append(f'<line x1="{left}" y1="{base}" x2="{left + group_w * n}" y2="{base}" class="baseline"/>')
    every = max(1, n // 12)  # keep day labels legible when there are many days
    for i, label in enumerate(labels):
        x0 = left + i * group_w + 4
        for j, s in enumerate(series):
            v = s.values[i]
            h = max(round(plot_h * v / peak), 2 if v else 0)
            x = x0 + j * col_w
            out.append(
                f'<rect x="{x}" y="{base - h}" width="{col_w - 2}" height="{h}" class="{s.css}"{_fill(s, uid)}>'
                f"<title>{escape(label)}: {escape(counted(v, unit))} by {escape(s.name)}</title></rect>"
            )
            if v:
                out.append(
                    f'<text x="{x + (col_w - 2) / 2}" y="{base - h - 4}" text-anchor="middle" class="value">{v}</text>'
                )
        if i % every == 0:
            out.append(
                f'<text x="{x0 + (group_w - 8) / 2}" y="{base + 16}" text-anchor="middle" class="axis">'
                f"{escape(label)}</text>"
            )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text in `out` went through escape())
