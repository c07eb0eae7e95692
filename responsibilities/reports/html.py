"""The year-end summary and the bulletin, each as one self-contained, printable HTML page (A4 portrait, no scripts,
no outside files).

Every word a reader sees is in ``templates/`` (``report_year.html``; ``bulletin.html`` and its counting rules,
``bulletin_rules.txt``, which the spreadsheet writes too) or in the vocabulary; this module only prepares numbers
for them (percentages, Chinese dates, the bar chart's geometry). Autoescaping is on: task texts come from the plan
and are shown as text, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from responsibilities.reports.bulletin import Bulletin
from responsibilities.reports.summary import YearSummary
from responsibilities.vocabulary import BULLETIN_OUTCOME_NAMES, PROGRESS_NAMES, STATE_NAMES

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The chart's geometry, in SVG user units (the SVG scales to the page width).
CHART_WIDTH, LABEL_WIDTH, BAR_AREA, ROW_HEIGHT, BAR_HEIGHT, TOP, AXIS = 680, 190, 400, 24, 15, 24, 22
# The progress chart writes "12,760 / 11,700(109.1%)" after its longest bar: a shorter bar area leaves room for it.
PROGRESS_BAR_AREA = 300


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


@dataclass(frozen=True)
class ProgressBar:
    label: str
    y: float
    target_width: float
    actual_width: float
    expected_x: float
    text: str
    light: str


@dataclass(frozen=True)
class ProgressChart:
    bars: tuple[ProgressBar, ...]
    width: int
    height: int
    label_width: int
    bar_height: int


LIGHT_COLOURS = {"green": "#1d6b33", "yellow": "#c98a00", "red": "#b0161e"}


def progress_chart(numbers, *, cumulative: bool = False) -> ProgressChart:  # a PlanNumbers
    """Per region: the target as a grey bar, the actual as a coloured one (its light), expected-to-date as a tick."""
    rows = [(r.region_name, r.cumulative if cumulative else r.year, r.light) for r in numbers.regions]
    scale = max([max(p.target, p.actual) for _, p, _ in rows] + [1])
    bars = []
    for i, (name, p, light) in enumerate(rows):
        done = "—" if p.done is None else f"{p.done * 100:.1f}%"
        bars.append(ProgressBar(name, TOP + i * ROW_HEIGHT, round(p.target / scale * PROGRESS_BAR_AREA, 1),
                                round(p.actual / scale * PROGRESS_BAR_AREA, 1),
                                round(LABEL_WIDTH + p.expected / scale * PROGRESS_BAR_AREA, 1),
                                f"{p.actual:,} / {p.target:,}({done})", light))
    return ProgressChart(tuple(bars), CHART_WIDTH, int(TOP + len(bars) * ROW_HEIGHT + 6), LABEL_WIDTH, BAR_HEIGHT)


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
    env.filters.update(percent=percent, chinese_date=chinese_date, days=days, thousands=lambda n: f"{round(n):,}",
                       light_colour=lambda light: LIGHT_COLOURS.get(light, "#666"),
                       light_name=lambda light: PROGRESS_NAMES.get(light, light),
                       state_name=lambda state: STATE_NAMES.get(state, state))
    return env


def render_html(summary: YearSummary) -> str:
    unranked = [u for u in summary.units if u.on_time_rate is None]
    return _environment().get_template("report_year.html").render(
        s=summary, t=summary.totals, chart=bar_chart(summary), unranked=unranked, n=summary.numbers,
        progress=progress_chart(summary.numbers) if summary.numbers else None,
        cumulative_progress=progress_chart(summary.numbers, cumulative=True) if summary.numbers else None,
        ranks={entry.unit_id: entry.rank for entry in summary.ranking})


def bulletin_rules(bulletin: Bulletin) -> list[str]:
    """How the bulletin counts and ranks, one rule a line, as its page and its spreadsheet state them."""
    text = _environment().get_template("bulletin_rules.txt").render(b=bulletin, names=BULLETIN_OUTCOME_NAMES)
    return [line.strip() for line in text.splitlines() if line.strip()]


def render_bulletin_html(bulletin: Bulletin) -> str:
    return _environment().get_template("bulletin.html").render(
        b=bulletin, t=bulletin.totals, names=BULLETIN_OUTCOME_NAMES, rules=bulletin_rules(bulletin))
