"""Periods a bulletin covers: a month (2020-03), a quarter (2020-Q1), a year (2020), or any span of days, each with the
words the office writes it in (2020年3月, 2020年第一季度, 2020年, 2020年1月1日至4月15日).

Every interface (the command line, the pages, the API, the monthly notice) makes its period here, so a period that
runs backwards, spans more than MAX_YEARS years or cannot be read is refused in the same words everywhere.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta

from responsibilities.errors import InvalidInput
from responsibilities.vocabulary import QUARTER_NAMES

MAX_YEARS = 5  # a bulletin covers at most this many years: beyond it, a typo (2002 for 2020) more likely than a need
FIRST_YEAR, LAST_YEAR = 1900, 9000  # the years a period may lie in: far from the calendar's ends, whatever the zone


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # the last day, included

    @property
    def is_month(self) -> bool:
        return self.start.day == 1 and self.end == _month_end(self.start.year, self.start.month)

    @property
    def quarter(self) -> int | None:
        """1–4 when the period is exactly a calendar quarter, else None."""
        q = (self.start.month - 1) // 3 + 1
        exact = (self.start.day == 1 and self.start.month == 3 * q - 2
                 and self.end == _month_end(self.start.year, 3 * q))
        return q if exact else None

    @property
    def is_year(self) -> bool:
        return self.start == date(self.start.year, 1, 1) and self.end == date(self.start.year, 12, 31)

    @property
    def key(self) -> str:
        """2020-03, 2020-Q1, 2020, or 2020-01-01_2020-04-15: what names its files and its monthly notice."""
        if self.is_month:
            return f"{self.start:%Y-%m}"
        if self.quarter:
            return f"{self.start.year}-Q{self.quarter}"
        if self.is_year:
            return str(self.start.year)
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    @property
    def label(self) -> str:
        """The period as the bulletin's title says it."""
        if self.is_month:
            return f"{self.start.year}年{self.start.month}月"
        if self.quarter:
            return f"{self.start.year}年{QUARTER_NAMES[self.quarter]}"
        if self.is_year:
            return f"{self.start.year}年"
        return f"{chinese_day(self.start)}至{chinese_day(self.end, self.start.year)}"

    def has_ended(self, today: date) -> bool:
        return today > self.end


def chinese_day(day: date, year_shown: int | None = None) -> str:
    """2020年4月15日, or 4月15日 when the year is ``year_shown`` (already written just before)."""
    head = "" if day.year == year_shown else f"{day.year}年"
    return f"{head}{day.month}月{day.day}日"


def _month_end(year: int, month: int) -> date:
    return date(year, month, monthrange(year, month)[1])


def period_between(start: date, end: date) -> Period:
    """The days from ``start`` to ``end`` (both included); refused when they run backwards, span too long, or lie
    outside the years a bulletin can be about."""
    for day in (start, end):
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise InvalidInput(f"{day} 不在可统计的年份内:统计期应在 {FIRST_YEAR} 至 {LAST_YEAR} 年之间")
    if start > end:
        raise InvalidInput(f"统计期起始日 {start} 晚于截止日 {end}:请把较早的日期写在前面(--from 早于 --to)")
    if end >= _years_after(start, MAX_YEARS):
        raise InvalidInput(f"统计期 {start} 至 {end} 超过 {MAX_YEARS} 年:一份督查通报最长覆盖 {MAX_YEARS} 年,"
                           "请缩短统计期或分期统计")
    return Period(start, end)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28) + timedelta(days=1)


def month_period(year: int, month: int) -> Period:
    return Period(date(year, month, 1), _month_end(year, month))


def quarter_period(year: int, quarter: int) -> Period:
    return Period(date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter))


def year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31))


PATTERNS = (
    (re.compile(r"(\d{4})-(\d{1,2})"), lambda y, m: month_period(y, m) if 1 <= m <= 12 else None),
    (re.compile(r"(\d{4})-?[Qq]([1-4])"), quarter_period),
    (re.compile(r"(\d{4})"), year_period),
)


def parse_period(text: str) -> Period:
    """A month (2020-03), a quarter (2020-Q1) or a year (2020); anything else is refused, quoting it."""
    cleaned = text.strip()
    for pattern, make in PATTERNS:
        match = pattern.fullmatch(cleaned)
        if match:
            year, *rest = (int(g) for g in match.groups())
            if FIRST_YEAR <= year <= LAST_YEAR:
                period = make(year, *rest)
                if period is not None:
                    return period
    raise InvalidInput(f"“{_shown(text)}”不是统计期:请写月份(2020-03)、季度(2020-Q1)或年份(2020)")


def parse_day(text: str, what: str) -> date:
    """A date written YYYY-MM-DD; anything else is refused, quoting it."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what}“{_shown(text)}”不是日期:请写成 YYYY-MM-DD,例如 2020-03-31") from None


def _shown(text: str) -> str:
    """What a refusal quotes of a text that was given: one line, at most 40 characters."""
    line = " ".join(text.split())
    return line if len(line) <= 40 else line[:40] + "…"


def previous_month(today: date) -> Period:
    first = today.replace(day=1) - timedelta(days=1)
    return month_period(first.year, first.month)


def previous_quarter(today: date) -> Period:
    quarter = (today.month - 1) // 3 + 1
    return quarter_period(today.year, quarter - 1) if quarter > 1 else quarter_period(today.year - 1, 4)


def year_to_date(today: date) -> Period:
    return Period(date(today.year, 1, 1), today)


def recent_periods(today: date) -> dict[str, Period]:
    """What the office's reports page offers: the last month, the last quarter, and this year up to today."""
    return {"last_month": previous_month(today), "last_quarter": previous_quarter(today),
            "year_to_date": year_to_date(today)}
