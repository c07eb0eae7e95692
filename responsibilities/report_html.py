"""The year-end summary as one self-contained, printable HTML page (A4 portrait, no scripts, no outside files).

Every word a reader sees is in ``templates/report_year.html``; this module only prepares numbers for it
(percentages, Chinese dates, the bar chart's geometry). Autoescaping is on: task texts come from the plan
and are shown as text, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from responsibilities.reports import YearSummary

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATE_NAMES = {"open": "待办", "submitted": "已报待审", "returned": "退回重办", "accepted": "已销号", "waived": "免报"}

# The chart's geometry, in SVG user units (the SVG scales to the page width).
CHART_WIDTH, LABEL_WIDTH, BAR_AREA, ROW_HEIGHT, BAR_HEIGHT, TOP, AXIS = 680, 190, 400, 24, 15, 24, 22


@dataclass(frozen=True)
class Bar:
    label: str
    rate: float
    y: float
    width: float


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]  # x and label of the 0 %, 25 %, … 100 % grid lines
    width: int
    height: int
    label_width: int
    bar_area: int
    bar_height: int
    bottom: float


def bar_chart(summary: YearSummary) -> Chart:
    """Horizontal bars of the on-time rate, in ranking order: the longest bar on top."""
    bars = tuple(Bar(f"{entry.rank}. {entry.unit_name}", entry.on_time_rate, TOP + i * ROW_HEIGHT,
                     round(entry.on_time_rate * BAR_AREA, 1))
                 for i, entry in enumerate(summary.ranking))
    ticks = tuple((LABEL_WIDTH + BAR_AREA * share, f"{round(share * 100)}%") for share in (0, 0.25, 0.5, 0.75, 1))
    bottom = TOP + len(bars) * ROW_HEIGHT
    return Chart(bars, ticks, CHART_WIDTH, int(bottom + AXIS), LABEL_WIDTH, BAR_AREA, BAR_HEIGHT, bottom)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def days(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(percent=percent, chinese_date=chinese_date, days=days,
                       state_name=lambda state: STATE_NAMES.get(state, state))
    return env


def render_html(summary: YearSummary) -> str:
    unranked = [u for u in summary.units if u.on_time_rate is None]
    return _environment().get_template("report_year.html").render(
        s=summary, t=summary.totals, chart=bar_chart(summary), unranked=unranked,
        ranks={entry.unit_id: entry.rank for entry in summary.ranking})
