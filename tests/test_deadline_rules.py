"""Properties of the date arithmetic behind deadline rules: periods, due dates, first_due."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from responsibilities.deadlines.rules import (
    MONTHS_IN,
    External,
    Fixed,
    Periodic,
    Stage,
    Staged,
    first_due,
    periodic_dues,
)

periodic_rules = st.sampled_from(sorted(MONTHS_IN)).flatmap(
    lambda every: st.builds(
        Periodic,
        text=st.just("rule"),
        every=st.just(every),
        due_month=st.integers(1, MONTHS_IN[every] + 1),  # within the period, or the month after it
        due_day=st.none() | st.integers(1, 31),
    )
)
days = st.dates(date(2005, 1, 1), date(2030, 12, 31))


@given(periodic_rules, days)
def test_first_due_is_the_earliest_due_date_on_or_after_the_day(rule, day):
    due = first_due(rule, on_or_after=day)
    assert due is not None and due >= day
    window = periodic_dues(rule, day - timedelta(days=400), due)
    assert due in [d for _, d in window]
    assert [d for _, d in window if day <= d < due] == []


@given(periodic_rules, days, st.integers(1, 40))
def test_periods_follow_each_other_without_gaps(rule, day, count):
    step = MONTHS_IN[rule.every]
    last = date(day.year + (day.month - 1 + step * count) // 12, (day.month - 1 + step * count) % 12 + 1, 1)
    dues = periodic_dues(rule, day, last)
    assert len(dues) == count + 1
    for (start_a, due_a), (start_b, due_b) in zip(dues, dues[1:], strict=False):
        months_apart = (start_b.year - start_a.year) * 12 + start_b.month - start_a.month
        assert months_apart == step and due_a < due_b
        assert start_a <= due_a  # a due date never falls before its period begins


@given(days, days)
def test_a_fixed_date_is_first_due_only_until_it_passes(due, day):
    rule = Fixed("text", due)
    assert first_due(rule, on_or_after=day) == (due if due >= day else None)


def test_a_staged_rule_is_first_due_at_its_earliest_dated_stage_still_ahead():
    rule = Staged("t", (Stage("第一批", Fixed("a", date(2019, 10, 31))), Stage("第二批", Fixed("b", date(2020, 3, 31))),
                        Stage("其他批次", External("c"))))
    assert first_due(rule, on_or_after=date(2019, 10, 1)) == date(2019, 10, 31)
    assert first_due(rule, on_or_after=date(2019, 11, 1)) == date(2020, 3, 31)
    assert first_due(rule, on_or_after=date(2020, 4, 1)) is None
