"""Working days in China (工作日): public holidays plus make-up working days (调休).

The source is the maintained package chinesecalendar, which carries the State Council's notices
year by year. A work plan may declare years the package does not know yet (or correct a day it has
wrong) with a `YearOverride`. A question about a day in a year nobody declared raises
`CalendarRangeError` instead of guessing: a deadline counted on a wrong calendar is worse than none.

Pure code: no clock, no IO. Working days are cached per year as sorted ordinals, so counting
and walking jump through years with `bisect` instead of stepping day by day.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Iterable

import chinese_calendar

# The package decides its own range from its holiday table (see chinese_calendar.utils._validate_date).
PACKAGE_YEARS: tuple[int, int] = (
    min(d.year for d in chinese_calendar.holidays),
    max(d.year for d in chinese_calendar.holidays),
)


class CalendarRangeError(ValueError):
    """A day in a year neither chinesecalendar nor the plan declares."""

    def __init__(self, day: date, known: str) -> None:
        self.day = day
        super().__init__(
            f"{day.isoformat()} is outside the working-day calendar (known: {known}); declare "
            f"{day.year}'s holidays and make-up working days under calendar.years in deadlines.yaml"
        )


@dataclass(frozen=True)
class YearOverride:
    """One calendar year declared by the plan.

    In an override year, weekdays are working days unless in `holidays`, weekends are days off
    unless in `workdays`. For a year the package knows, only the listed days change.
    """

    year: int
    holidays: frozenset[date] = frozenset()  # weekdays that are days off
    workdays: frozenset[date] = frozenset()  # weekend days that are working days (调休)

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        for kind, days, weekend_expected in (("holiday", self.holidays, False), ("workday", self.workdays, True)):
            for d in sorted(days):
                if isinstance(d, datetime) or not isinstance(d, date):
                    raise ValueError(f"calendar {self.year}: {kind} {d!r} is not a date")
                if d.year != self.year:
                    raise ValueError(f"calendar {self.year}: {kind} {d.isoformat()} is not in {self.year}")
                if (d.weekday() >= 5) != weekend_expected:
                    what = ("a weekend day, already a day off" if d.weekday() >= 5
                            else "a weekday, already a working day")
                    raise ValueError(
                        f"calendar {self.year}: {kind} {d.isoformat()} is {what}; check the date"
                    )


@lru_cache(maxsize=None)
def _package_working_days(year: int) -> frozenset[int]:
    """Ordinals of the package's working days in `year` (a year it covers)."""
    day, end, found = date(year, 1, 1), date(year, 12, 31), set()
    while day <= end:
        if chinese_calendar.is_workday(day):
            found.add(day.toordinal())
        day += timedelta(days=1)
    return frozenset(found)


class WorkingCalendar:
    """Chinese working days from chinesecalendar, corrected and extended by the plan's overrides."""

    def __init__(self, overrides: Iterable[YearOverride] = ()) -> None:
        self._overrides: dict[int, YearOverride] = {}
        for o in overrides:
            if o.year in self._overrides:
                raise ValueError(f"calendar {o.year} is declared twice")
            self._overrides[o.year] = o
        self._years: dict[int, tuple[list[int], frozenset[int]]] = {}

    # -- what is known -------------------------------------------------------------------
    def knows(self, year: int) -> bool:
        return PACKAGE_YEARS[0] <= year <= PACKAGE_YEARS[1] or year in self._overrides

    def known_years(self) -> tuple[int, ...]:
        """Every known year, ascending."""
        return tuple(sorted(set(range(PACKAGE_YEARS[0], PACKAGE_YEARS[1] + 1)) | set(self._overrides)))

    def describe_known(self) -> str:
        """Known years as spans, e.g. '2004–2026, 2028'."""
        spans: list[list[int]] = []
        for y in self.known_years():
            if spans and spans[-1][1] == y - 1:
                spans[-1][1] = y
            else:
                spans.append([y, y])
        return ", ".join(f"{a}–{b}" if a != b else str(a) for a, b in spans)

    def _year(self, year: int, asked: date) -> tuple[list[int], frozenset[int]]:
        """Sorted and set form of the working-day ordinals of `year`; `asked` names the day in errors."""
        cached = self._years.get(year)
        if cached is not None:
            return cached
        if not self.knows(year):
            raise CalendarRangeError(asked, self.describe_known())
        if PACKAGE_YEARS[0] <= year <= PACKAGE_YEARS[1]:
            days = set(_package_working_days(year))
        else:
            first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
            days = {o for o in range(first, last + 1) if date.fromordinal(o).weekday() < 5}
        o = self._overrides.get(year)
        if o is not None:
            days -= {d.toordinal() for d in o.holidays}
            days |= {d.toordinal() for d in o.workdays}
        self._years[year] = cached = (sorted(days), frozenset(days))
        return cached

    # -- questions -----------------------------------------------------------------------
    def is_working_day(self, day: date) -> bool:
        return day.toordinal() in self._year(day.year, day)[1]

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the next working day."""
        ords = self._year(day.year, day)[0]
        i = bisect_left(ords, day.toordinal())
        if i < len(ords):
            return date.fromordinal(ords[i])
        return self._walk_forward(day.year + 1, 0, 1)

    def add_working_days(self, day: date, n: int) -> date:
        """n > 0: the n-th working day after `day` (not counting `day`); n < 0: the |n|-th before."""
        ords = self._year(day.year, day)[0]
        if n == 0:
            return day
        if n > 0:
            return self._walk_forward(day.year, bisect_right(ords, day.toordinal()), n)
        return self._walk_backward(day.year, bisect_left(ords, day.toordinal()), -n)

    def _walk_forward(self, year: int, i: int, n: int) -> date:
        """The n-th (n >= 1) working day counting from index i of `year` (i itself is the first)."""
        while True:
            ords = self._year(year, date(year, 1, 1))[0]
            if i + n - 1 < len(ords):
                return date.fromordinal(ords[i + n - 1])
            n -= len(ords) - i
            year, i = year + 1, 0

    def _walk_backward(self, year: int, i: int | None, n: int) -> date:
        """The n-th (n >= 1) working day before index i of `year` (None: the year's end)."""
        while True:
            ords = self._year(year, date(year, 12, 31))[0]
            if i is None:
                i = len(ords)
            if n <= i:
                return date.fromordinal(ords[i - n])
            n -= i
            year, i = year - 1, None

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative if end < start."""
        if end < start:
            return -self.working_days_between(end, start)
        count = bisect_right(self._year(end.year, end)[0], end.toordinal())
        count -= bisect_right(self._year(start.year, start)[0], start.toordinal())
        for year in range(start.year, end.year):
            count += len(self._year(year, date(year, 1, 1))[0])
        return count
