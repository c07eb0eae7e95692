"""The year-end summary as data: outcomes per unit from histories made through the services, on real SQLite.

Scoring is strictly against the plan's original due date, by the local (Guigang) date of the submission
that was finally accepted; see responsibilities/reports/summary.py.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from responsibilities.errors import InvalidInput, NotFound
from responsibilities.figures.service import submit_figures
from responsibilities.reports.summary import Counts, RankEntry, best_and_worst, year_end_summary
from responsibilities.storage.model import Deliverable
from responsibilities.tracking import services

from conftest import GUIPING, HRSS, OFFICE, at, monthly_report

pytestmark = pytest.mark.both_databases

AFTER_2019 = date(2020, 1, 10)


def hand_in(sf, ref: str, submitted, accepted=None, actor: str = OFFICE) -> None:
    if ref.startswith("monthly-report."):  # a monthly report is handed in with its figures
        region, month = ref.removeprefix("monthly-report.").split("@")
        submit_figures(sf, actor=actor, region=region, month=date.fromisoformat(f"{month}-01"),
                       values=monthly_report(), now=submitted)
    else:
        services.submit(sf, actor=actor, ref=ref, now=submitted, note="已办结")
    if accepted is not None:
        services.accept(sf, actor=OFFICE, ref=ref, now=accepted)


def unit(summary, unit_id: str):
    return next(u for u in summary.units if u.unit_id == unit_id)


@pytest.fixture
def hrss_year(loaded, session_factory):
    """hrss's five 2019 deliverables, one of each outcome, as the supervision cycle would leave them."""
    sf = session_factory
    hand_in(sf, "hrss-1", at(2019, 10, 14), at(2019, 10, 20), actor=HRSS)  # due 10-15: on time
    hand_in(sf, "hrss-4", at(2019, 11, 5), at(2019, 11, 6), actor=HRSS)  # due 10-31: 5 days late
    hand_in(sf, "prep-2", at(2019, 10, 30))  # due 10-31: on time, but returned, and resubmitted 3 days late
    services.return_for_rework(sf, actor=OFFICE, ref="prep-2", reason="缺少附件", now=at(2019, 11, 1))
    hand_in(sf, "prep-2", at(2019, 11, 3), at(2019, 11, 4))
    services.request_extension(sf, actor=HRSS, ref="hrss-3@stage-1", new_due=date(2019, 11, 30), reason="等待审批",
                               now=at(2019, 10, 25))
    services.decide_extension(sf, actor=OFFICE, ref="hrss-3@stage-1", grant=True, now=at(2019, 10, 26))
    hand_in(sf, "hrss-3@stage-1", at(2019, 11, 20), at(2019, 11, 25))  # within the extension: 20 days late
    services.waive(sf, actor=OFFICE, ref="bulletin@2019", reason="并入年度总结", now=at(2019, 12, 1))
    return sf


# ── one unit's counts ─────────────────────────────────────────────────────────────────────────────


def test_each_outcome_of_a_unit_is_counted_once_against_the_original_due_date(hrss_year):
    hrss = unit(year_end_summary(hrss_year, year=2019, today=AFTER_2019), "hrss")
    assert (hrss.due, hrss.on_time, hrss.late, hrss.overdue, hrss.waived, hrss.not_yet_due) == (5, 1, 3, 0, 1, 0)
    assert hrss.days_late == (20, 5, 3)
    assert hrss.average_days_late == pytest.approx(28 / 3) and hrss.max_days_late == 20
    assert hrss.on_time_rate == 1 / 4  # waived items leave the denominator
    assert hrss.unit_name == "市人力资源社会保障局"


def test_a_deliverable_accepted_within_its_extension_is_late_and_its_extension_is_counted(hrss_year):
    hrss = unit(year_end_summary(hrss_year, year=2019, today=AFTER_2019), "hrss")
    assert hrss.extensions_granted == 1
    assert 20 in hrss.days_late  # hrss-3@stage-1: due 10-31, extended to 11-30, submitted 11-20


def test_a_returned_deliverable_is_judged_by_the_submission_that_was_finally_accepted(loaded, session_factory):
    hand_in(session_factory, "hrss-4", at(2019, 10, 20))
    services.return_for_rework(session_factory, actor=OFFICE, ref="hrss-4", reason="补充签到表", now=at(2019, 10, 21))
    hand_in(session_factory, "hrss-4", at(2019, 10, 30), at(2019, 11, 8))  # resubmitted in time, accepted later
    hrss = unit(year_end_summary(session_factory, year=2019, today=AFTER_2019), "hrss")
    assert (hrss.on_time, hrss.late) == (1, 0)


def test_the_submission_day_is_the_local_day_in_guigang_not_the_utc_one(loaded, session_factory):
    hand_in(session_factory, "hrss-4", at(2019, 10, 31, 23, 30), at(2019, 11, 1))  # 15:30 UTC on the due day
    hand_in(session_factory, "prep-2", at(2019, 11, 1, 0, 30), at(2019, 11, 1))  # still 10-31 in UTC
    hrss = unit(year_end_summary(session_factory, year=2019, today=AFTER_2019), "hrss")
    assert (hrss.on_time, hrss.late, hrss.days_late) == (1, 1, (1,))


def test_open_returned_and_unreviewed_deliverables_past_their_original_date_are_overdue(loaded, session_factory):
    hand_in(session_factory, "hrss-4", at(2019, 10, 30))  # submitted in time, never reviewed
    hand_in(session_factory, "prep-2", at(2019, 10, 30))
    services.return_for_rework(session_factory, actor=OFFICE, ref="prep-2", reason="不合格", now=at(2019, 11, 2))
    hrss = unit(year_end_summary(session_factory, year=2019, today=AFTER_2019), "hrss")
    assert (hrss.overdue, hrss.awaiting_review, hrss.on_time, hrss.late) == (5, 1, 0, 0)
    assert hrss.on_time_rate == 0


def test_before_the_year_closes_deliverables_not_yet_due_are_left_out_of_the_rate(loaded, session_factory):
    hand_in(session_factory, "monthly-report.guiping@2019-11", at(2019, 12, 4), at(2019, 12, 5), actor=GUIPING)
    guiping = unit(year_end_summary(session_factory, year=2019, today=date(2019, 12, 20)), "guiping")
    assert (guiping.due, guiping.on_time, guiping.not_yet_due, guiping.on_time_rate) == (2, 1, 1, 1.0)
    assert unit(year_end_summary(session_factory, year=2019, today=AFTER_2019), "guiping").on_time_rate == 0.5


def test_only_deliverables_whose_original_due_date_falls_in_the_year_are_counted(loaded, session_factory):
    with session_factory.begin() as session:
        session.execute(update(Deliverable).where(Deliverable.ref == "hrss-1").values(retired=True))
        in_2020 = session.scalars(select(Deliverable).where(Deliverable.unit_id == "hrss",
                                                            Deliverable.original_due.between(date(2020, 1, 1),
                                                                                             date(2020, 12, 31)))).all()
    assert unit(year_end_summary(session_factory, year=2019, today=AFTER_2019), "hrss").due == 4  # hrss-1 retired
    summary_2020 = year_end_summary(session_factory, year=2020, today=date(2021, 1, 10))
    assert unit(summary_2020, "hrss").due == len(in_2020) > 0


# ── ranking, totals, red items ───────────────────────────────────────────────────────────────────


@pytest.fixture
def mixed_year(loaded, session_factory):
    sf = session_factory
    hand_in(sf, "miit-1", at(2019, 10, 30), at(2019, 10, 31))  # 100 %
    hand_in(sf, "union-1", at(2019, 10, 29), at(2019, 10, 31))  # 100 %, tied with miit
    hand_in(sf, "monthly-report.guiping@2019-11", at(2019, 12, 5), at(2019, 12, 6))  # 50 %, one overdue
    hand_in(sf, "transport-1", at(2019, 11, 2), at(2019, 11, 3))  # 0 %, none overdue
    services.waive(sf, actor=OFFICE, ref="market-1", reason="职能调整", now=at(2019, 10, 30))  # nothing to rate
    hand_in(sf, "finance-1", at(2019, 12, 30))  # submitted late, not reviewed: overdue
    return sf


def test_units_are_ranked_by_on_time_rate_then_fewer_overdue_and_ties_share_a_rank(mixed_year):
    summary = year_end_summary(mixed_year, year=2019, today=AFTER_2019)
    ranking = [(e.rank, e.unit_id) for e in summary.ranking]
    assert ranking[:4] == [(1, "miit"), (1, "union"), (3, "guiping"), (4, "transport")]
    # everyone else delivered nothing on time: fewer overdue first, equals share a rank, listed by unit id
    rest = [(e.rank, e.overdue, e.unit_id) for e in summary.ranking[4:]]
    assert rest == sorted(rest) and {e.on_time_rate for e in summary.ranking[4:]} == {0}
    by_overdue = {overdue: {rank for rank, o, _ in rest if o == overdue} for _, overdue, _ in rest}
    # 9 units with one overdue (市本级: its November report), 4 counties with two, hrss
    assert by_overdue == {1: {5}, 2: {14}, 5: {18}}
    assert "market" not in {e.unit_id for e in summary.ranking}  # all waived: not ranked, still listed
    assert [u.unit_id for u in summary.units][-1] == "market"


def test_plan_wide_totals_are_the_sums_of_the_units(mixed_year):
    summary = year_end_summary(mixed_year, year=2019, today=AFTER_2019)
    for field in fields(Counts):
        if field.name != "days_late":
            assert getattr(summary.totals, field.name) == sum(getattr(u, field.name) for u in summary.units), field.name
    assert sorted(summary.totals.days_late) == sorted(d for u in summary.units for d in u.days_late)
    t = summary.totals
    assert t.due == t.on_time + t.late + t.overdue + t.waived + t.not_yet_due == 28
    assert t.on_time_rate == t.on_time / (t.due - t.waived)


def test_red_items_name_each_overdue_deliverable_with_its_days_past_the_original_due_date(mixed_year):
    red = {r.ref: r for r in year_end_summary(mixed_year, year=2019, today=AFTER_2019).red_items}
    assert {"miit-1", "union-1", "transport-1", "market-1"}.isdisjoint(red)
    hrss4 = red["hrss-4"]
    assert (hrss4.unit_id, hrss4.unit_name, hrss4.original_due, hrss4.days_overdue, hrss4.state) == (
        "hrss", "市人力资源社会保障局", date(2019, 10, 31), 71, "open")
    assert "培训" in hrss4.task
    assert red["finance-1"].state == "submitted"
    assert red["counties-1.guiping"].days_overdue == 10
    days = [r.days_overdue for r in year_end_summary(mixed_year, year=2019, today=AFTER_2019).red_items]
    assert days == sorted(days, reverse=True)


def test_a_year_outside_the_plan_is_refused_naming_the_plans_years(loaded, session_factory):
    for year in (2018, 2022):
        with pytest.raises(InvalidInput, match=rf"{year} 年不在工作方案实施期内.*2019 至 2021 年"):
            year_end_summary(session_factory, year=year, today=AFTER_2019)


def test_a_database_without_a_plan_has_no_summary(database, session_factory):
    with pytest.raises(NotFound, match="尚未载入工作方案"):
        year_end_summary(session_factory, year=2019, today=AFTER_2019)


def test_the_title_names_the_plan_without_its_span_and_the_year(loaded, session_factory):
    summary = year_end_summary(session_factory, year=2019, today=AFTER_2019)
    assert summary.title == "贵港市职业技能提升行动 2019年度督办情况总结"
    assert summary.document_number == "贵政办发〔2019〕24号" and summary.year_closed


def _ranked(*rates_and_overdue: tuple[float, int]) -> SimpleNamespace:
    entries, rank = [], 0
    for position, (rate, overdue) in enumerate(rates_and_overdue, 1):
        tied = entries and (entries[-1].on_time_rate, entries[-1].overdue) == (rate, overdue)
        rank = rank if tied else position
        entries.append(RankEntry(rank, f"u{position}", f"单位{position}", rate, overdue))
    return SimpleNamespace(ranking=tuple(entries))


def test_the_worst_units_are_the_bottom_of_the_ranking_worst_first_and_never_one_of_the_best():
    best, worst = best_and_worst(_ranked((1.0, 0), (0.9, 0), (0.8, 1), (0.7, 0), (0.5, 2), (0.2, 3), (0.0, 4)))
    assert [e.unit_id for e in best] == ["u1", "u2", "u3"]
    assert [e.unit_id for e in worst] == ["u7", "u6", "u5"]


def test_units_tied_with_the_best_are_not_listed_among_the_worst():
    # A month into the plan most units are at 100%: the one unit behind is the only "worst".
    best, worst = best_and_worst(_ranked(*[(1.0, 0)] * 8, (0.0, 0)))
    assert [e.rank for e in best] == [1, 1, 1]
    assert [(e.unit_id, e.rank) for e in worst] == [("u9", 9)]
