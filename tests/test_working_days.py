"""Working days against the real State Council calendars carried by chinesecalendar (no mocks)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from responsibilities.deadlines.working_days import (
    PACKAGE_YEARS,
    CalendarRangeError,
    WorkingCalendar,
    YearOverride,
)

CAL = WorkingCalendar()


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# -- real holidays ---------------------------------------------------------------------------


def test_national_day_2019_is_off_from_october_1_to_7_with_make_up_days_on_sep_29_and_oct_12():
    assert not any(CAL.is_working_day(d) for d in days(date(2019, 10, 1), date(2019, 10, 7)))
    assert CAL.is_working_day(date(2019, 9, 29))  # Sunday
    assert CAL.is_working_day(date(2019, 10, 12))  # Saturday
    assert CAL.add_working_days(date(2019, 9, 30), 1) == date(2019, 10, 8)


def test_spring_festival_2020_extended_for_covid_is_off_until_february_2():
    assert not any(CAL.is_working_day(d) for d in days(date(2020, 1, 24), date(2020, 2, 2)))
    assert CAL.is_working_day(date(2020, 1, 19))  # Sunday make-up day
    assert CAL.is_working_day(date(2020, 2, 3))
    assert CAL.add_working_days(date(2020, 1, 23), 1) == date(2020, 2, 3)


def test_national_day_and_mid_autumn_2020_is_off_from_october_1_to_8_with_make_up_days():
    assert not any(CAL.is_working_day(d) for d in days(date(2020, 10, 1), date(2020, 10, 8)))
    assert CAL.is_working_day(date(2020, 9, 27))  # Sunday
    assert CAL.is_working_day(date(2020, 10, 10))  # Saturday
    assert CAL.working_days_between(date(2020, 9, 30), date(2020, 10, 9)) == 1


def test_next_working_day_from_a_holiday_is_the_first_day_back():
    assert CAL.next_working_day(date(2019, 10, 1)) == date(2019, 10, 8)


def test_next_working_day_from_a_working_day_is_that_day():
    assert CAL.next_working_day(date(2019, 9, 29)) == date(2019, 9, 29)


def test_add_zero_working_days_leaves_even_a_holiday_unchanged():
    assert CAL.add_working_days(date(2019, 10, 1), 0) == date(2019, 10, 1)


def test_walks_cross_new_year_within_the_known_range():
    assert CAL.add_working_days(date(2019, 12, 31), 1) == date(2020, 1, 2)
    assert CAL.add_working_days(date(2020, 1, 2), -1) == date(2019, 12, 31)
    assert CAL.working_days_between(date(2019, 12, 31), date(2020, 1, 2)) == 1
    assert CAL.working_days_between(date(2020, 1, 2), date(2019, 12, 31)) == -1


# -- range -----------------------------------------------------------------------------------


def test_the_package_range_is_2004_to_at_least_2026():
    assert PACKAGE_YEARS[0] == 2004 and PACKAGE_YEARS[1] >= 2026
    assert CAL.knows(2004) and not CAL.knows(2003)


@pytest.mark.parametrize("day", [date(2003, 12, 31), date(PACKAGE_YEARS[1] + 1, 1, 4)])
def test_a_day_outside_the_calendar_raises_naming_the_day_and_the_fix(day):
    for ask in (CAL.is_working_day, CAL.next_working_day, lambda d: CAL.add_working_days(d, 1)):
        with pytest.raises(CalendarRangeError) as err:
            ask(day)
        message = str(err.value)
        assert day.isoformat() in message
        assert f"declare {day.year}'s holidays" in message and "calendar.years" in message
        assert f"known: 2004–{PACKAGE_YEARS[1]}" in message


def test_a_walk_into_an_unknown_year_raises_instead_of_guessing():
    last = date(PACKAGE_YEARS[1], 12, 31)
    with pytest.raises(CalendarRangeError, match=f"{PACKAGE_YEARS[1] + 1}-01-01"):
        CAL.add_working_days(last - timedelta(days=3), 10)
    with pytest.raises(CalendarRangeError, match="2003-12-31"):
        CAL.add_working_days(date(2004, 1, 5), -10)
    with pytest.raises(CalendarRangeError):
        CAL.working_days_between(date(2026, 12, 1), date(2028, 1, 1))


# -- overrides -------------------------------------------------------------------------------


def test_an_override_makes_2027_known_and_answers_from_it():
    cal = WorkingCalendar([YearOverride(2027, holidays=frozenset({date(2027, 1, 1)}),
                                        workdays=frozenset({date(2027, 1, 9)}))])
    assert cal.knows(2027) and "2004–2027" in cal.describe_known()
    assert not cal.is_working_day(date(2027, 1, 1))  # Friday, declared holiday
    assert not cal.is_working_day(date(2027, 1, 2))  # plain Saturday
    assert cal.is_working_day(date(2027, 1, 9))  # Saturday, declared make-up day
    assert cal.is_working_day(date(2027, 1, 4))  # plain Monday
    assert cal.next_working_day(date(2027, 1, 1)) == date(2027, 1, 4)
    assert cal.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert cal.add_working_days(date(2027, 1, 8), 1) == date(2027, 1, 9)
    assert cal.working_days_between(date(2027, 1, 3), date(2027, 1, 10)) == 6


def test_an_override_corrects_one_day_of_a_known_year_and_leaves_the_rest():
    cal = WorkingCalendar([YearOverride(2019, holidays=frozenset({date(2019, 10, 8)}))])
    assert not cal.is_working_day(date(2019, 10, 8))
    assert cal.is_working_day(date(2019, 10, 12))  # package's make-up Saturday kept
    assert not cal.is_working_day(date(2019, 10, 7))  # package's holiday kept
    assert cal.add_working_days(date(2019, 9, 30), 1) == date(2019, 10, 9)


def test_a_gap_year_between_the_package_and_an_override_stays_unknown():
    cal = WorkingCalendar([YearOverride(PACKAGE_YEARS[1] + 2)])
    with pytest.raises(CalendarRangeError, match=f"known: 2004–{PACKAGE_YEARS[1]}, {PACKAGE_YEARS[1] + 2}"):
        cal.is_working_day(date(PACKAGE_YEARS[1] + 1, 6, 1))


@pytest.mark.parametrize(
    "make, named",
    [
        (lambda: YearOverride(2027, holidays=frozenset({date(2027, 1, 2)})), "2027-01-02"),  # Saturday
        (lambda: YearOverride(2027, workdays=frozenset({date(2027, 1, 4)})), "2027-01-04"),  # Monday
        (lambda: YearOverride(2027, holidays=frozenset({date(2028, 1, 3)})), "2028-01-03"),  # wrong year
        (lambda: WorkingCalendar([YearOverride(2027), YearOverride(2027)]), "2027"),  # declared twice
    ],
)
def test_an_invalid_override_raises_value_error_naming_the_date(make, named):
    with pytest.raises(ValueError, match=named):
        make()


# -- properties ------------------------------------------------------------------------------

any_day = st.dates(min_value=date(2005, 1, 1), max_value=date(2025, 12, 31))
any_n = st.integers(min_value=-60, max_value=60)
working_day = any_day.map(CAL.next_working_day)


@given(any_day, any_n.filter(lambda n: n != 0))
def test_adding_a_nonzero_number_of_working_days_lands_on_a_working_day(d, n):
    assert CAL.is_working_day(CAL.add_working_days(d, n))


@given(working_day, any_n)
def test_adding_then_subtracting_returns_to_a_working_day_start(d, n):
    assert CAL.add_working_days(CAL.add_working_days(d, n), -n) == d


@given(working_day, any_n)
def test_working_days_between_a_start_and_its_sum_is_the_number_added(d, n):
    assert CAL.working_days_between(d, CAL.add_working_days(d, n)) == n


@given(any_day, any_n, any_n)
def test_adding_working_days_is_monotonic_in_n(d, a, b):
    lo, hi = sorted((a, b))
    if lo < hi:
        assert CAL.add_working_days(d, lo) < CAL.add_working_days(d, hi)
    else:
        assert CAL.add_working_days(d, lo) == CAL.add_working_days(d, hi)


@given(any_day)
def test_next_working_day_is_the_first_working_day_on_or_after(d):
    nxt = CAL.next_working_day(d)
    assert nxt >= d and CAL.is_working_day(nxt)
    assert not any(CAL.is_working_day(x) for x in days(d, nxt - timedelta(days=1)))


@settings(max_examples=50)
@given(any_day, any_n)
def test_walks_agree_with_a_plain_day_by_day_count(d, n):
    step = 1 if n >= 0 else -1
    cur, left = d, abs(n)
    while left:
        cur += timedelta(days=step)
        left -= CAL.is_working_day(cur)
    assert CAL.add_working_days(d, n) == cur
