"""Items the office assigns by hand (交办事项): the deadline's reading, the standing plan of the year, the cycle."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from notifications.messages import recipients_for
from responsibilities.errors import NotAllowed
from responsibilities.notices.sweep import sweep
from responsibilities.plan.items import ItemDeadlineInvalid, read_item_deadline
from responsibilities.reading import queries
from responsibilities.reading.plans import plan_list
from responsibilities.storage.model import CoUnit, Deliverable, Notice, PlanRecord, UnitRecord
from responsibilities.tracking import services
from responsibilities.tracking.items import ItemInvalid, ItemRequest, assign_item, preview_item

from conftest import GUIPING, HRSS, OFFICE, SEED_ID, at, database_unchanged

TODAY = date(2020, 1, 6)
NOW = at(2020, 1, 6)


# ── reading the deadline (pure) ──


def test_a_date_phrase_reads_as_one_deliverable_on_that_date():
    reading = read_item_deadline("2020年3月底前", today=TODAY)
    assert [(s.period, s.due) for s in reading.slots] == [("once", date(2020, 3, 31))]
    assert reading.describe() == "2020年3月底前 → 2020-03-31"


def test_a_date_repeated_monthly_keeps_the_month_end_through_the_year():
    reading = read_item_deadline("3月底前", today=TODAY, repeat="monthly")
    assert [s.due for s in reading.slots] == [date(2020, m, d) for m, d in
                                              ((3, 31), (4, 30), (5, 31), (6, 30), (7, 31), (8, 31), (9, 30),
                                               (10, 31), (11, 30), (12, 31))]
    assert reading.slots[0].period == "2020-03" and reading.recurring


def test_a_date_repeated_quarterly_falls_on_the_same_day_of_each_quarter():
    reading = read_item_deadline("2020年2月15日前", today=TODAY, repeat="quarterly")
    assert [(s.period, s.due) for s in reading.slots] == [
        ("2020-Q1", date(2020, 2, 15)), ("2020-Q2", date(2020, 5, 15)), ("2020-Q3", date(2020, 8, 15)),
        ("2020-Q4", date(2020, 11, 15))]


def test_a_periodic_phrase_dates_each_period_still_ahead_this_year():
    reading = read_item_deadline("每月5日前", today=date(2020, 10, 6))
    assert [s.due for s in reading.slots] == [date(2020, 11, 5), date(2020, 12, 5)]


@pytest.mark.parametrize("phrase, repeat, says", [
    ("明天", None, "无法识别完成时限“明天”"),
    ("", None, "请填写完成时限"),
    ("2019年12月底前", None, "读作 2019-12-31,已经过去"),
    ("持续推进", None, "没有具体日期"),
    ("自治区相关文件下发后一个月内完成", None, "没有具体日期"),
    ("每季度末", "monthly", "本身为每季度"),
    ("3月底前", "weekly", "重复周期“weekly”无法识别"),
    ("字" * 101, None, "最多 100 个字"),
])
def test_a_deadline_that_gives_no_date_ahead_is_refused_never_guessed(phrase, repeat, says):
    with pytest.raises(ItemDeadlineInvalid, match=says):
        read_item_deadline(phrase, today=TODAY, repeat=repeat)


# ── the office assigns ──


def _item(**fields) -> ItemRequest:
    values = {"lead": "市人社局", "task": "牵头制定就业见习实施细则", "deadline": "2020年3月底前",
              "co_units": ("市财政局",), "source": "市长办公会议纪要〔2020〕3号"} | fields
    return ItemRequest(**values)


def test_the_first_item_of_a_year_creates_its_standing_plan_and_the_next_joins_it(loaded, session_factory):
    first = assign_item(session_factory, _item(), actor=OFFICE, now=NOW)
    second = assign_item(session_factory, _item(lead="guiping", deadline="每月10日前", co_units=()), actor=OFFICE,
                         now=NOW)

    assert (first.qualified, second.qualified) == ("assigned-2020:item-1", "assigned-2020:item-2")
    with session_factory() as session:
        plan = session.get(PlanRecord, "assigned-2020")
        assert (plan.title, plan.kind, plan.year) == ("2020年交办事项", "standing", 2020)
        item = session.scalars(select(Deliverable).where(Deliverable.qualified_ref == "assigned-2020:item-1")).one()
        assert (item.unit_id, item.due, item.state) == ("hrss", date(2020, 3, 31), "open")
        assert session.get(CoUnit, (item.obligation_id, "finance")) is not None
        assert session.scalar(select(Deliverable.due).where(Deliverable.ref == "item-2@2020-12")) == date(2020, 12, 10)
    listed = {r.id: r for r in plan_list(session_factory, today=TODAY)}
    assert listed["assigned-2020"].kind == "standing" and listed["assigned-2020"].obligations == 2


def test_the_lead_unit_sees_its_item_beside_its_plan_items_and_hands_it_in(loaded, session_factory):
    assigned = assign_item(session_factory, _item(), actor=OFFICE, now=NOW)
    rows = queries.status(session_factory, today=TODAY, viewer=HRSS)
    assert {r.plan_name for r in rows} == {"职业技能提升行动", "2020年交办事项"}
    change = services.submit(session_factory, actor=HRSS, ref=assigned.qualified, note="细则已印发", now=at(2020, 3, 2))
    accepted = services.accept(session_factory, actor=OFFICE, ref=assigned.qualified, now=at(2020, 3, 3))
    assert (change.state, accepted.state) == ("submitted", "accepted")
    assert [a.action for a in queries.audit_trail(session_factory, deliverable=assigned.qualified)] == [
        "deliverable.dated", "submit", "accept"]


def test_a_co_unit_sees_the_item_it_cooperates_on_and_another_unit_does_not(loaded, session_factory):
    assign_item(session_factory, _item(), actor=OFFICE, now=NOW)
    assert any(r.plan == "assigned-2020" and r.cooperating
               for r in queries.status(session_factory, today=TODAY, viewer="finance-clerk"))
    assert not any(r.plan == "assigned-2020" for r in queries.status(session_factory, today=TODAY, viewer=GUIPING))


def test_an_overdue_item_is_chased_and_escalated_to_the_units_leader_in_charge_then_the_office(loaded,
                                                                                              session_factory):
    with session_factory.begin() as session:
        session.get(UnitRecord, "hrss").leader = {"name": "黄创优", "title": "分管副市长",
                                                  "email": "in-charge@guigang.example"}
    assign_item(session_factory, _item(co_units=()), actor=OFFICE, now=NOW)
    for day in (date(2020, 4, 1), date(2020, 4, 3), date(2020, 4, 13)):  # 1, 3 and 9 working days overdue
        sweep(session_factory, now=at(day.year, day.month, day.day), today=day)

    with session_factory() as session:
        owed = {(n.kind, n.level): recipients_for(session, n)
                for n in session.scalars(select(Notice).where(Notice.plan_id == "assigned-2020"))}
    assert owed[("chase", 1)] == ("hrss@guigang.example",)
    assert owed[("escalation", 1)] == ("in-charge@guigang.example",)
    assert owed[("escalation", 2)] == ("office@guigang.example",)


def test_an_item_escalates_to_the_office_when_the_unit_has_no_leader_in_charge_on_record(loaded, session_factory):
    assign_item(session_factory, _item(co_units=()), actor=OFFICE, now=NOW)
    sweep(session_factory, now=at(2020, 4, 3), today=date(2020, 4, 3))
    with session_factory() as session:
        escalation = session.scalars(select(Notice).where(Notice.kind == "escalation",
                                                          Notice.plan_id == "assigned-2020")).one()
        assert recipients_for(session, escalation) == ("office@guigang.example",)


def test_a_preview_shows_the_reading_and_writes_nothing(loaded, session_factory):
    with database_unchanged(loaded):
        checked = preview_item(session_factory, _item(deadline="6月30日前", repeat="quarterly"), actor=OFFICE, now=NOW)
    assert (checked.lead, checked.co_units, checked.lead_name) == ("hrss", ("finance",), "市人力资源社会保障局")
    assert checked.reading.describe() == "6月30日前 → 共 3 期:2020-06-30、2020-09-30、2020-12-31(至 2020-12-31)"


@pytest.mark.parametrize("fields, says", [
    ({"lead": ""}, "请选择牵头单位"),
    ({"lead": "市宇宙局"}, "单位目录中没有“市宇宙局”"),
    ({"co_units": ("市人社局",)}, "已是牵头单位"),
    ({"task": "  "}, "请填写交办任务"),
    ({"deadline": "尽快"}, "无法识别完成时限“尽快”"),
    ({"deadline": "2019年11月底前"}, "已经过去"),
])
def test_a_bad_item_is_refused_with_what_to_fix_and_nothing_is_written(loaded, session_factory, fields, says):
    with database_unchanged(loaded), pytest.raises(ItemInvalid, match=says):
        assign_item(session_factory, _item(**fields), actor=OFFICE, now=NOW)


def test_every_problem_of_an_item_is_named_at_once(loaded, session_factory):
    with pytest.raises(ItemInvalid) as refused:
        assign_item(session_factory, _item(lead="", task="", deadline="明天"), actor=OFFICE, now=NOW)
    assert len(refused.value.problems) == 3


def test_only_the_office_assigns_items(loaded, session_factory):
    with database_unchanged(loaded), pytest.raises(NotAllowed):
        assign_item(session_factory, _item(), actor=HRSS, now=NOW)


def test_an_items_reminder_names_its_plan_and_its_source_and_links_to_it(loaded, session_factory):
    from notifications.messages import render_notice

    assign_item(session_factory, _item(), actor=OFFICE, now=NOW)
    sweep(session_factory, now=at(2020, 3, 24), today=date(2020, 3, 24))  # five working days before 03-31
    with session_factory() as session:
        notice = session.scalars(select(Notice).where(Notice.plan_id == "assigned-2020", Notice.kind == "reminder",
                                                      Notice.unit_id == "hrss")).one()
        message = render_notice(session, notice, base_url="https://duban.example", sender="duban@guigang.example",
                                today=date(2020, 3, 24))
    for part in (message.text, message.html):
        for fact in ("所属方案", "2020年交办事项", "市长办公会议纪要〔2020〕3号", "牵头制定就业见习实施细则",
                     "https://duban.example/deliverables/assigned-2020:item-1"):
            assert fact in part, fact
    assert "()" not in message.text  # a standing plan has no document number


def test_a_units_weekly_digest_groups_its_overdue_work_by_plan(loaded, session_factory):
    from notifications.messages import render_notice
    from responsibilities.notices.digests import write_digests

    assign_item(session_factory, _item(deadline="2020年1月10日前", co_units=()), actor=OFFICE, now=NOW)
    monday = date(2020, 1, 13)
    write_digests(session_factory, now=at(2020, 1, 13), today=monday)
    with session_factory() as session:
        notice = session.scalars(select(Notice).where(Notice.dedupe_key == "digest:hrss:2020-W03")).one()
        message = render_notice(session, notice, base_url="https://duban.example", sender="duban@guigang.example",
                                today=monday)
    overdue = message.text.split("一、逾期事项")[1].split("二、")[0]
    seed_group, item_group = overdue.index("〔职业技能提升行动〕"), overdue.index("〔2020年交办事项〕")
    assert seed_group < item_group < overdue.index("牵头制定就业见习实施细则")
    assert overdue.count("〔") == 2  # one heading per plan, not one per item
    assert "2020年交办事项" in message.html


def test_a_unit_name_that_matches_nothing_is_refused_with_the_units_it_could_mean(loaded, session_factory):
    with pytest.raises(ItemInvalid, match=r"单位目录中没有“人社”:是否指:市人力资源社会保障局\(hrss\)"):
        assign_item(session_factory, _item(lead="人社"), actor=OFFICE, now=NOW)


def test_the_standing_plans_year_end_summary_counts_its_own_items_and_its_mail_links_to_that_summary(
        loaded, session_factory, tmp_path):
    import json

    from notifications.messages import render_notice
    from responsibilities.reports.files import write_year_report
    from responsibilities.reports.summary import queue_summary_notice

    assign_item(session_factory, _item(deadline="2020年1月10日前", co_units=()), actor=OFFICE, now=NOW)
    year_end = date(2020, 12, 31)
    paths = write_year_report(session_factory, year=2020, today=year_end, out_dir=tmp_path, plan_id="assigned-2020")
    seed_paths = write_year_report(session_factory, year=2020, today=year_end, out_dir=tmp_path, plan_id=SEED_ID)
    assert {p.name for p in paths.values()} == {f"summary-assigned-2020-2020.{f}" for f in ("html", "xlsx", "json")}
    assert {p.name for p in seed_paths.values()} == {f"summary-2020.{f}" for f in ("html", "xlsx", "json")}
    items = json.loads(paths["json"].read_text(encoding="utf-8"))
    seed = json.loads(seed_paths["json"].read_text(encoding="utf-8"))
    assert items["plan"]["id"] == "assigned-2020" and items["title"] == "2020年交办事项 2020年度督办情况总结"
    assert (items["totals"]["due"], items["totals"]["overdue"]) == (1, 1)  # the one item, never handed in
    assert seed["totals"]["due"] > 50 and "牵头制定就业见习实施细则" not in json.dumps(seed, ensure_ascii=False)

    queue_summary_notice(session_factory, year=2020, now=at(2020, 12, 31, 18), today=year_end,
                         plan_id="assigned-2020")
    with session_factory() as session:
        notice = session.scalars(select(Notice).where(Notice.dedupe_key == "summary:assigned-2020:2020")).one()
        message = render_notice(session, notice, base_url="https://duban.example", sender="duban@guigang.example",
                                today=year_end)
    assert message.subject.startswith("【年度总结】2020年交办事项 2020年度督办情况总结")
    assert "应办结事项1项" in message.text and "逾期未办结1项" in message.text
    assert "https://duban.example/reports/2020?plan=assigned-2020" in message.text
