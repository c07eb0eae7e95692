"""The monthly figures (月报): checked values, hand-in as a deliverable, versions, progress against the targets."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from responsibilities.errors import InvalidInput, NotAllowed
from responsibilities.figures.progress import plan_numbers
from responsibilities.figures.rules import Field, MonthStatus, Progress, parse_count, period_progress, validate_figures
from responsibilities.figures.service import FiguresInvalid, figure_history, submit_figures
from responsibilities.reading import queries
from responsibilities.tracking import services

from conftest import GUIPING, LEADER, OFFICE, at, at_once, database_unchanged, monthly_report

pytestmark = pytest.mark.both_databases

FIELDS = (Field("total", "培训总人次"), Field("enterprise-workers", "企业职工", "total"),
          Field("key-groups", "就业重点群体", "total"), Field("graduates", "高校毕业生", "key-groups"),
          Field("veterans", "退役军人", "key-groups"), Field("new-apprentices", "新型学徒", "enterprise-workers"))
NOVEMBER, DECEMBER = date(2019, 11, 1), date(2019, 12, 1)


report = monthly_report  # a complete monthly report of the seed plan's fields (conftest)


# ── checking values (pure) ───────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("raw, expected", [(0, 0), (1200, 1200), ("1200", 1200), (" 1,200 ", 1200), (1200.0, 1200),
                                           ("1,200", 1200)])
def test_whole_non_negative_numbers_are_read_as_counts(raw, expected):
    assert parse_count(raw) == expected


@pytest.mark.parametrize("raw, says", [(-3, "负数"), ("-3", "负数"), ("abc", "不是数字"), (12.5, "不是整数"),
                                       ("12.5", "不是整数"), (None, "未填写"), ("", "未填写"), (True, "不是人次数")])
def test_negatives_fractions_text_and_blanks_are_refused_with_a_reason(raw, says):
    assert says in parse_count(raw)


def test_a_part_larger_than_its_whole_is_named_with_both_figures():
    _, problems = validate_figures(FIELDS, {"total": 100, "enterprise-workers": 120, "key-groups": 0, "graduates": 0,
                                            "veterans": 0, "new-apprentices": 0})
    assert [(p.field, p.message) for p in problems] == [
        ("enterprise-workers", "「企业职工」120 大于「培训总人次」100:企业职工是培训总人次的一部分")]


def test_parts_that_together_exceed_their_whole_are_refused_naming_all_of_them():
    _, problems = validate_figures(FIELDS, {"total": 100, "enterprise-workers": 60, "key-groups": 50, "graduates": 30,
                                            "veterans": 30, "new-apprentices": 0})
    assert {p.field for p in problems} == {"total", "key-groups"}
    assert any("「企业职工」、「就业重点群体」之和 110 大于「培训总人次」100" in p.message for p in problems)


def test_an_unknown_field_and_a_missing_one_are_both_reported():
    values, problems = validate_figures(FIELDS[:2], {"total": 5, "trainees": 3})
    assert values == {"total": 5} and len(problems) == 2
    assert "“trainees”" in problems[0].message and "「企业职工」未填写" in problems[1].message


# ── progress (pure) ──────────────────────────────────────────────────────────────────────────────


def months_of_2020(reported_through: int, state: str = "accepted") -> list[MonthStatus]:
    months = []
    for m in range(1, 13):
        due = date(2020 + (m == 12), m % 12 + 1, 5)
        handed_in = m <= reported_through
        months.append(MonthStatus(date(2020, m, 1), due, due, state if handed_in else "open",
                                  due if handed_in else None))
    return months


def test_expected_to_date_progress_is_the_target_times_the_share_of_months_whose_report_is_due():
    progress = period_progress(12000, 5000, months_of_2020(6), date(2020, 7, 6))  # June's report due 5 July
    assert (progress.months, progress.months_elapsed, progress.expected) == (12, 6, 6000)
    assert progress.behind and progress.light == "yellow" and progress.done == 5000 / 12000


def test_a_region_at_or_ahead_of_expected_progress_is_green_and_one_with_a_missing_report_is_red():
    assert period_progress(12000, 6000, months_of_2020(6), date(2020, 7, 6)).light == "green"
    missing = period_progress(12000, 9000, months_of_2020(5), date(2020, 7, 6))
    assert missing.light == "red" and missing.months_missing == ("2020-06",)


def test_a_report_not_yet_due_is_neither_expected_nor_missing():
    progress = period_progress(12000, 5500, months_of_2020(5), date(2020, 7, 5))  # June's due today
    assert (progress.months_elapsed, progress.months_missing, progress.light) == (5, (), "green")


def test_a_year_with_all_reports_due_expects_the_whole_target():
    assert Progress(4500, 100, 12, 12).expected == 4500


# ── handing figures in ───────────────────────────────────────────────────────────────────────────


def test_submitting_figures_submits_the_regions_monthly_report_deliverable(loaded, session_factory):
    recorded = submit_figures(session_factory, actor=GUIPING, region="guiping", month=NOVEMBER, values=report(),
                              now=at(2019, 12, 3), note="11月培训情况")
    assert (recorded.ref, recorded.version, recorded.kind, recorded.state) == (
        "monthly-report.guiping@2019-11", 1, "submission", "submitted")
    view = queries.show(session_factory, ref="monthly-report.guiping@2019-11")
    assert view.deliverable.state == "submitted" and view.history[-1].action == "submit"
    assert view.history[-1].after["figures"]["total"] == 1000 and view.history[-1].note == "11月培训情况"
    services.accept(session_factory, actor=OFFICE, ref=recorded.ref, now=at(2019, 12, 4))  # like any other


def test_a_monthly_report_cannot_be_submitted_without_its_figures_and_nothing_changes(loaded, session_factory):
    with database_unchanged(loaded), pytest.raises(InvalidInput) as refused:
        services.submit(session_factory, actor=GUIPING, ref="monthly-report.guiping@2019-11", now=at(2019, 12, 3),
                        note="已报送")
    assert "是月报" in str(refused.value) and "duban figures submit guiping 2019-11" in str(refused.value)
    assert queries.show(session_factory, ref="monthly-report.guiping@2019-11").deliverable.state == "open"


def test_the_office_returns_figures_like_any_deliverable_and_returned_figures_do_not_count(loaded, session_factory):
    submit_figures(session_factory, actor=GUIPING, region="guiping", month=NOVEMBER, values=report(),
                   now=at(2019, 12, 3))
    services.return_for_rework(session_factory, actor=OFFICE, ref="monthly-report.guiping@2019-11",
                               reason="数据与台账不符", now=at(2019, 12, 4))
    guiping = regions(session_factory, 2019, date(2019, 12, 6))["guiping"]
    assert guiping.year.actual == 0 and guiping.year.months_missing == ("2019-11",) and guiping.light == "red"
    again = submit_figures(session_factory, actor=GUIPING, region="guiping", month=NOVEMBER, values=report(900, 500),
                           now=at(2019, 12, 6))
    assert (again.version, again.kind, again.state) == (2, "submission", "submitted")
    assert regions(session_factory, 2019, date(2019, 12, 6))["guiping"].year.actual == 900


def test_a_correction_after_acceptance_is_a_new_version_with_a_reason_and_the_old_one_stays(loaded, session_factory):
    ref = "monthly-report.guiping@2019-11"
    submit_figures(session_factory, actor=GUIPING, region="guiping", month=NOVEMBER, values=report(),
                   now=at(2019, 12, 3))
    services.accept(session_factory, actor=OFFICE, ref=ref, now=at(2019, 12, 4))
    with pytest.raises(FiguresInvalid, match="须说明理由"), database_unchanged(loaded):
        submit_figures(session_factory, actor=GUIPING, region="guiping", month=NOVEMBER, values=report(1100),
                       now=at(2019, 12, 10))
    corrected = submit_figures(session_factory, actor=GUIPING, region="guiping", month=NOVEMBER, values=report(1100),
                               now=at(2019, 12, 10), reason="漏报一期培训班")
    assert (corrected.version, corrected.kind, corrected.state) == (2, "correction", "accepted")
    history = figure_history(session_factory, ref=ref)
    assert [(r.version, v["total"]) for r, v in history] == [(1, 1000), (2, 1100)]
    audit = queries.show(session_factory, ref=ref).history[-1]
    assert (audit.action, audit.note, audit.before["figures"]["total"], audit.after["figures"]["total"]) == (
        "figures.correct", "漏报一期培训班", 1000, 1100)
    assert regions(session_factory, 2019, date(2019, 12, 31))["guiping"].year.actual == 1100
    # scoring is untouched: still submitted on 3 December, on time
    assert regions(session_factory, 2019, date(2019, 12, 31))["guiping"].year.months_on_time == 1


@pytest.mark.slow
def test_two_hand_ins_of_one_month_at_once_are_both_kept_as_versions_one_and_two(loaded, session_factory):
    ref = "monthly-report.guiping@2019-11"
    outcomes = at_once(loaded, f"UPDATE deliverables SET state = state WHERE ref = '{ref}'", *(
        lambda sf, who=who, total=total: submit_figures(sf, actor=who, region="guiping", month=NOVEMBER,
                                                        values=report(total=total), now=at(2019, 12, 3))
        for who, total in ((GUIPING, 1000), (OFFICE, 1100))))
    assert outcomes == ["done", "done"]
    assert sorted((r.version, r.kind) for r, _ in figure_history(session_factory, ref=ref)) == [
        (1, "submission"), (2, "correction")]


def test_stored_figures_cannot_be_overwritten_even_with_direct_sql(loaded, session_factory):
    submit_figures(session_factory, actor=GUIPING, region="guiping", month=NOVEMBER, values=report(),
                   now=at(2019, 12, 3))
    for statement in ("UPDATE figure_values SET value = 1", "DELETE FROM figure_reports"):
        with loaded.raw() as connection, database_unchanged(loaded), pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))


@pytest.mark.only_on("postgresql", "SQLite has no TRUNCATE: its DELETE without WHERE is refused above")
def test_stored_figures_cannot_be_truncated_either(loaded, session_factory):
    submit_figures(session_factory, actor=GUIPING, region="guiping", month=NOVEMBER, values=report(),
                   now=at(2019, 12, 3))
    for table in ("figure_values", "figure_reports"):
        with loaded.raw() as connection, database_unchanged(loaded), pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(f"TRUNCATE {table} CASCADE"))


@pytest.mark.parametrize("region, month, says", [
    ("hrss", NOVEMBER, "不报送月报"),
    ("nowhere", NOVEMBER, "不是任何单位"),
    ("guiping", date(2019, 10, 1), "不在方案实施期内:月报覆盖 2019-11 至 2021-12"),
    ("guiping", date(2022, 1, 1), "不在方案实施期内"),
])
def test_a_region_that_owes_no_report_or_a_month_outside_the_plan_is_refused_and_nothing_written(
        loaded, session_factory, region, month, says):
    with pytest.raises(FiguresInvalid, match=says), database_unchanged(loaded):
        submit_figures(session_factory, actor=OFFICE, region=region, month=month, values=report(), now=at(2019, 12, 3))


def test_bad_figures_are_refused_naming_every_field_and_nothing_is_written(loaded, session_factory):
    bad = report() | {"total": -5, "graduates": "很多", "new-apprentices": 700}
    with pytest.raises(FiguresInvalid) as refused, database_unchanged(loaded):
        submit_figures(session_factory, actor=GUIPING, region="guiping", month=NOVEMBER, values=bad,
                       now=at(2019, 12, 3))
    assert refused.value.problems == ("「培训总人次」-5 是负数:人次不能为负",
                                      "「高校毕业生」“很多”不是数字:请填写人次(非负整数)",
                                      "「新型学徒」700 大于「企业职工」600:新型学徒是企业职工的一部分")


def test_only_the_regions_staff_or_the_office_may_hand_in_its_figures(loaded, session_factory):
    for actor in ("hrss-clerk", LEADER):
        with pytest.raises((FiguresInvalid, NotAllowed)), database_unchanged(loaded):
            submit_figures(session_factory, actor=actor, region="guiping", month=NOVEMBER, values=report(),
                           now=at(2019, 12, 3))
    recorded = submit_figures(session_factory, actor=OFFICE, region="city-level", month=NOVEMBER, values=report(),
                              now=at(2019, 12, 3))
    assert recorded.ref == "monthly-report.city-level@2019-11"


def test_a_month_that_has_not_begun_cannot_be_reported(loaded, session_factory):
    with pytest.raises(FiguresInvalid, match="尚未开始"):
        submit_figures(session_factory, actor=GUIPING, region="guiping", month=DECEMBER, values=report(),
                       now=at(2019, 11, 20))


# ── progress from the database ───────────────────────────────────────────────────────────────────


def regions(session_factory, year: int, today: date) -> dict:
    return {r.region: r for r in plan_numbers(session_factory, year=year, today=today).regions}


def test_every_region_of_the_target_table_owes_reports_and_gets_its_annual_target(loaded, session_factory):
    numbers = plan_numbers(session_factory, year=2020, today=date(2020, 7, 6))
    assert [r.region for r in numbers.regions] == ["city-level", "guiping", "pingnan", "gangbei", "gangnan", "qintang"]
    assert [r.year.target for r in numbers.regions] == [4500, 11700, 9000, 7200, 6300, 6300]
    assert (numbers.year_total.target, numbers.cumulative_total.target) == (45000, 120000)
    assert {c.id: c.target for c in numbers.categories} == {"enterprise-workers": 60000, "key-groups": 50000,
                                                            "poor-labour": 10000, "new-apprentices": 1000}


def test_sums_per_region_and_plan_wide_with_the_fifty_percent_rule(loaded, session_factory):
    submit_figures(session_factory, actor=GUIPING, region="guiping", month=NOVEMBER, values=report(4000, 2400, 1200),
                   now=at(2019, 12, 3))
    submit_figures(session_factory, actor=GUIPING, region="guiping", month=DECEMBER, values=report(4200, 1800, 2000),
                   now=at(2020, 1, 3))
    submit_figures(session_factory, actor=OFFICE, region="pingnan", month=NOVEMBER, values=report(1000, 400, 500),
                   now=at(2019, 12, 3))
    numbers = plan_numbers(session_factory, year=2019, today=date(2020, 1, 10))
    by_region = {r.region: r for r in numbers.regions}
    guiping, pingnan = by_region["guiping"], by_region["pingnan"]
    assert (guiping.year.actual, guiping.year.expected, guiping.light) == (8200, 7800, "green")
    assert guiping.categories["enterprise-workers"] == 4200 and guiping.share_met is True  # 4200 / 8200 ≥ 50 %
    assert pingnan.enterprise_share == 0.4 and pingnan.share_met is False
    assert pingnan.light == "red" and pingnan.year.months_missing == ("2019-12",)
    assert by_region["qintang"].share_met is None  # nothing reported yet: the rule cannot be judged
    assert numbers.year_total.actual == 9200 and numbers.cumulative_total.actual == 9200
    assert {c.id: c.actual for c in numbers.categories}["enterprise-workers"] == 4600
    assert [r.region for r in numbers.ranking][:2] == ["guiping", "pingnan"]
    assert numbers.ranking[0].done == 8200 / 7800
    assert "pingnan" in {r.region for r in numbers.behind} and "guiping" not in {r.region for r in numbers.behind}


# ── digests ──────────────────────────────────────────────────────────────────────────────────────


def test_the_leaders_and_office_digests_name_the_regions_behind_their_targets(loaded, session_factory):
    from sqlalchemy import select

    from notifications.messages import render_notice
    from responsibilities.notices.digests import write_digests
    from responsibilities.storage.model import Notice

    submit_figures(session_factory, actor=GUIPING, region="guiping", month=NOVEMBER, values=report(4000, 2400, 1200),
                   now=at(2019, 12, 3))
    submit_figures(session_factory, actor=OFFICE, region="pingnan", month=NOVEMBER, values=report(1000, 600, 300),
                   now=at(2019, 12, 3))
    day = date(2019, 12, 9)  # a Monday: November's reports were due on the 5th
    write_digests(session_factory, now=at(2019, 12, 9, 8, 30), today=day)
    with session_factory() as session:
        for key in ("digest:leaders:2019-W50", "digest:office:2019-12-09"):
            notice = session.scalars(select(Notice).where(Notice.dedupe_key == key)).one()
            text = render_notice(session, notice, base_url="https://duban.example/", sender="duban@guigang.example",
                                 today=day).text
            section = text[text.index("培训目标序时进度"):]
            assert "平南县:本年完成1,000人次,序时进度3,000人次,年度目标6,000人次" in section, key
            assert "市本级:本年完成0人次" in section and "缺报月报:2019-11" in section
            assert "桂平市" not in section  # 4,000 against 3,900 expected: on track


@pytest.mark.only_on("sqlite", "reads SQLite's query plans; PostgreSQL's planner goes by table statistics, which a "
                               "test database of 558 deliverables does not have the shape of")
def test_progress_reads_the_figures_and_the_regions_deliverables_by_index_never_walking_every_deliverable(
        loaded, session_factory):
    """The dashboard shows progress on every request: at a million deliverables, a walk over them (or over
    every deliverable in a counted state) costs seconds. Each statement's plan is read back from SQLite."""
    from sqlalchemy import event

    submit_figures(session_factory, actor=GUIPING, region="guiping", month=NOVEMBER, values=report(),
                   now=at(2019, 12, 2))
    statements = []
    engine = loaded.engine

    def grab(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        plan_numbers(session_factory, year=2020, today=date(2020, 4, 3))
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    plans = []
    with engine.connect() as connection:
        for statement, parameters in statements:
            if "deliverables" in statement:
                rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                plans.append(" | ".join(r[3] for r in rows))
    assert len(plans) == 4  # the months' standing, the two sums, and the figures out of range (normally none)
    assert [p for p in plans if "SCAN deliverables" in p or "ix_deliverables_state_due" in p] == []
