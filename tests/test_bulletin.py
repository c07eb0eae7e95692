"""The bulletin (督查通报) of a period as data, from histories made through the services on the seed plan.

October 2019: fifteen deliverables fall due (twelve on the 31st, hrss-1 on the 15th), and finance-1, due on
30 September, is still open when the month begins. A bulletin for a period that has ended is judged as things stood at
its close, whenever it is made; one for a period still running, as of today. See responsibilities/reports/bulletin.py.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import pytest

from responsibilities.errors import InvalidInput
from responsibilities.figures.service import submit_figures
from responsibilities.reports.bulletin import Tally, bulletin, bulletin_to_json
from responsibilities.tracking import services

from conftest import GUIPING, HRSS, OFFICE, at, monthly_report

pytestmark = pytest.mark.both_databases

OCTOBER = (date(2019, 10, 1), date(2019, 10, 31))
NOVEMBER = (date(2019, 11, 1), date(2019, 11, 30))
DECEMBER = (date(2019, 12, 1), date(2019, 12, 31))
LATER = date(2020, 6, 1)  # long after: a bulletin of October made in June 2020


def of(session_factory, period: tuple[date, date], today: date = LATER, **kw):
    return bulletin(session_factory, start=period[0], end=period[1], today=today, **kw)


def unit(b, unit_id: str):
    return next(u for u in b.units if u.unit_id == unit_id)


def counts(u) -> tuple[int, ...]:
    return u.items, u.on_time, u.late, u.overdue, u.returned, u.waived, u.not_yet_due


def hand_in(sf, ref: str, when, accepted=None, actor: str = OFFICE) -> None:
    services.submit(sf, actor=actor, ref=ref, now=when, note="已办结")
    if accepted is not None:
        services.accept(sf, actor=OFFICE, ref=ref, now=accepted)


@pytest.fixture
def october(loaded, session_factory):
    """October 2019 as the units left it, and what they did after it."""
    sf = session_factory
    hand_in(sf, "miit-1", at(2019, 10, 30), at(2019, 10, 31))  # on time
    hand_in(sf, "housing-1", at(2019, 10, 31, 23, 50))  # on its due day (Guigang time), not yet reviewed: on time
    hand_in(sf, "hrss-4", at(2019, 10, 20))  # in time, but returned in October: returned at the close
    services.return_for_rework(sf, actor=OFFICE, ref="hrss-4", reason="补充签到表", now=at(2019, 10, 25))
    hand_in(sf, "union-1", at(2019, 11, 5), at(2019, 11, 6))  # after October: overdue in it, late in November
    services.waive(sf, actor=OFFICE, ref="market-1", reason="职能调整", now=at(2019, 10, 30))  # waived in October
    services.waive(sf, actor=OFFICE, ref="sasac-1", reason="职能调整", now=at(2019, 11, 2))  # waived after it
    hand_in(sf, "hrss-4", at(2019, 11, 8), at(2019, 11, 9))  # resubmitted late, after October
    return sf


# ── what counts, as of when ──────────────────────────────────────────────────────────────────────


def test_a_bulletin_of_a_month_counts_what_fell_due_in_it_and_what_was_still_overdue_from_before(october):
    b = of(october, OCTOBER)
    assert b.ended and b.as_of == date(2019, 10, 31) and b.title == "2019年10月督查通报"
    assert unit(b, "finance").overdue == 1  # finance-1, due 30 September, open all October
    assert unit(b, "finance").days_overdue == 32  # 1 October … 1 November
    assert b.totals.items == 16
    assert unit(b, "miit").on_time == unit(b, "housing").on_time == 1
    assert unit(b, "market").waived == 1


def test_a_deliverable_accepted_after_the_period_ended_is_overdue_at_the_periods_end(october):
    union = unit(of(october, OCTOBER), "union")
    assert counts(union) == (1, 0, 0, 1, 0, 0, 0) and union.days_overdue == 1
    assert unit(of(october, OCTOBER), "sasac").overdue == 1  # waived on 2 November: still owed on 31 October
    assert counts(unit(of(october, NOVEMBER), "union")) == (1, 0, 1, 0, 0, 0, 0)  # November: handed in late


def test_a_returned_deliverable_is_counted_as_returned_as_it_stood_at_the_close(october):
    assert counts(unit(of(october, OCTOBER), "hrss")) == (4, 0, 0, 3, 1, 0, 0)
    assert counts(unit(of(october, NOVEMBER), "hrss")) == (4, 0, 1, 3, 0, 0, 0)  # hrss-4 resubmitted on 8 November


def test_what_was_handed_in_or_waived_before_a_period_began_is_not_in_it(october):
    november = {u.unit_id for u in of(october, NOVEMBER).units}
    assert {"miit", "housing", "market"}.isdisjoint(november)  # handed in, or waived, in October
    assert {"hrss", "union", "sasac", "finance"} <= november  # still owed when November began


def test_the_bulletin_of_an_ended_period_is_the_same_whenever_it_is_made(october):
    made_on_1_november = of(october, OCTOBER, today=date(2019, 11, 1))
    assert made_on_1_november == of(october, OCTOBER, today=LATER) == of(october, OCTOBER, today=date(2021, 12, 31))


def test_a_period_still_running_is_counted_as_of_today(october):
    b = of(october, NOVEMBER, today=date(2019, 11, 4))
    assert not b.ended and b.as_of == date(2019, 11, 4) and b.reckoned_on == date(2019, 11, 4)
    union = unit(b, "union")  # handed in on 5 November: not yet, as of the 4th
    assert counts(union) == (1, 0, 0, 1, 0, 0, 0) and union.days_overdue == 4
    assert unit(b, "sasac").waived == 1  # waived on 2 November
    assert unit(b, "hrss").returned == 1  # resubmitted on the 8th: still returned on the 4th


def test_while_a_period_runs_a_deliverable_due_today_or_later_is_not_yet_due(loaded, session_factory):
    on_the_day = of(session_factory, DECEMBER, today=date(2019, 12, 5))  # the November reports fall due today
    guiping = unit(on_the_day, "guiping")
    assert (guiping.overdue, guiping.not_yet_due) == (0, 2)  # its November report, and counties-1.guiping (31st)
    assert unit(of(session_factory, DECEMBER, today=date(2019, 12, 6)), "guiping").overdue == 1
    assert on_the_day.totals.not_yet_due == 12  # the six reports and the six items due on the 31st


def test_an_extension_does_not_move_the_bar(loaded, session_factory):
    services.request_extension(session_factory, actor=HRSS, ref="hrss-1", new_due=date(2019, 11, 30),
                               reason="等待审定", now=at(2019, 10, 10))
    services.decide_extension(session_factory, actor=OFFICE, ref="hrss-1", grant=True, now=at(2019, 10, 11))
    hand_in(session_factory, "hrss-1", at(2019, 11, 20), actor=HRSS)
    october_item = next(i for g in of(session_factory, OCTOBER).worst for i in g.items if i.ref == "hrss-1")
    assert (october_item.original_due, october_item.due, october_item.days_overdue) == (
        date(2019, 10, 15), date(2019, 11, 30), 17)
    assert unit(of(session_factory, NOVEMBER), "hrss").late == 1  # due (extended) in November, handed in late


def test_a_monthly_report_handed_in_with_its_figures_counts_as_handed_in(loaded, session_factory):
    submit_figures(session_factory, actor=GUIPING, region="guiping", month=date(2019, 11, 1),
                   values=monthly_report(), now=at(2019, 12, 4))
    assert unit(of(session_factory, DECEMBER), "guiping").on_time == 1


def test_a_month_with_nothing_due_and_nothing_overdue_is_empty(loaded, session_factory):
    august = of(session_factory, (date(2019, 8, 1), date(2019, 8, 31)))
    assert august.empty and august.units == () and august.worst == () and august.totals == Tally()


def test_a_deliverable_dated_after_the_period_is_not_in_it(loaded, session_factory):
    # finance-1 was due on 30 September, but the plan reached duban on 23 October: September had nothing tracked.
    september = of(session_factory, (date(2019, 9, 1), date(2019, 9, 30)))
    assert september.empty


# ── ranking and the worst items ──────────────────────────────────────────────────────────────────


def test_units_are_ranked_worst_first_by_overdue_then_days_overdue_then_returned_and_equals_share_a_rank(october):
    b = of(october, OCTOBER)
    ranked = [(u.rank, u.unit_id) for u in b.units]
    assert ranked[:2] == [(1, "hrss"), (2, "finance")]  # three overdue; then one, of 32 days
    ones = [unit_id for rank, unit_id in ranked if rank == 3]  # one overdue of one day each, listed by id
    assert ones == sorted(ones) and {"union", "sasac", "transport"} <= set(ones)
    assert [unit_id for _, unit_id in ranked[-3:]] == ["housing", "market", "miit"]  # nothing overdue: tied last
    assert {u.rank for u in b.units[-3:]} == {len(b.units) - 2}


def test_between_units_equal_on_overdue_items_and_days_the_one_with_a_return_ranks_worse(loaded, session_factory):
    hand_in(session_factory, "transport-1", at(2019, 10, 20))
    services.return_for_rework(session_factory, actor=OFFICE, ref="transport-1", reason="不全", now=at(2019, 10, 22))
    for ref in ("miit-1", "union-1"):
        hand_in(session_factory, ref, at(2019, 10, 30))
    b = of(session_factory, OCTOBER)
    bottom = [(u.rank, u.unit_id) for u in b.units if u.overdue == 0]
    assert bottom == [(bottom[0][0], "transport"), (bottom[0][0] + 1, "miit"), (bottom[0][0] + 1, "union")]


def test_the_worst_overdue_items_are_grouped_by_unit_in_rank_order_most_days_first(october):
    b = of(october, OCTOBER)
    assert [g.unit_id for g in b.worst][:2] == ["hrss", "finance"]
    hrss = b.worst[0]
    assert [i.ref for i in hrss.items] == ["hrss-1", "hrss-3@stage-1", "prep-2"]
    assert [i.days_overdue for i in hrss.items] == [17, 1, 1] and "工作方案" in hrss.items[0].task
    assert {i.ref for g in b.worst for i in g.items}.isdisjoint({"hrss-4", "miit-1", "market-1"})
    assert b.overdue_not_listed == 0 and sum(len(g.items) for g in b.worst) == b.totals.overdue == 12


def test_the_worst_list_keeps_the_items_most_overdue_and_says_how_many_it_left_off(october):
    b = of(october, OCTOBER, worst=3)
    listed = [(g.unit_id, i.ref) for g in b.worst for i in g.items]
    assert listed[:2] == [("hrss", "hrss-1"), ("finance", "finance-1")] and len(listed) == 3
    assert b.overdue_not_listed == b.totals.overdue - 3


def test_totals_are_the_sums_of_the_units(october):
    b = of(october, OCTOBER)
    for field in fields(Tally):
        if field.name != "most_days_overdue":
            assert getattr(b.totals, field.name) == sum(getattr(u, field.name) for u in b.units), field.name
    t = b.totals
    assert t.items == t.on_time + t.late + t.overdue + t.returned + t.waived + t.not_yet_due
    assert t.most_days_overdue == 32 and t.on_time_rate == 2 / 15


def test_the_json_form_is_plain(october):
    data = bulletin_to_json(of(october, OCTOBER))
    assert data["period"] == {"start": "2019-10-01", "end": "2019-10-31", "key": "2019-10", "label": "2019年10月"}
    assert data["as_of"] == "2019-10-31" and data["ended"] and data["plans"] == ["职业技能提升行动"]
    assert data["units"][0]["unit_id"] == "hrss" and data["units"][0]["rank"] == 1
    assert data["worst"][0]["items"][0]["original_due"] == "2019-10-15"


# ── periods refused ──────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("start", "end", "message"), [
    (date(2019, 11, 30), date(2019, 11, 1), "起始日 2019-11-30 晚于截止日 2019-11-01"),
    (date(2019, 1, 1), date(2024, 1, 1), "超过 5 年"),
    (date(2020, 7, 1), date(2020, 7, 31), "尚未到来"),
])
def test_a_period_that_runs_backwards_spans_more_than_five_years_or_has_not_begun_is_refused(
        loaded, session_factory, start, end, message):
    with pytest.raises(InvalidInput, match=message):
        bulletin(session_factory, start=start, end=end, today=LATER)


def test_five_years_to_the_day_is_the_longest_period(loaded, session_factory):
    assert bulletin(session_factory, start=date(2019, 1, 1), end=date(2023, 12, 31), today=LATER).as_of == LATER
