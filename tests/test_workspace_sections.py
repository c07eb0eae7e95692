"""A unit's workspace arranged from hand-built rows: the pure rules of responsibilities.reading.workspace.

No database: rows as the list gives them, a day, and China's working-day calendar (holidays and 调休 included).
"""

from __future__ import annotations

from datetime import date

import pytest

from responsibilities.deadlines.working_days import WorkingCalendar
from responsibilities.reading.board import Row
from responsibilities.reading.workspace import arrange, arrange_workspace, months_end, short_task, soon_before

TODAY = date(2020, 6, 15)  # a Monday; the Dragon Boat holiday is 25–27 June, Sunday the 28th is worked instead
CALENDAR = WorkingCalendar()
COUNTY_TASK = ("成立职业技能提升三年行动领导小组,制定贯彻落实国务院、自治区和贵港市相关文件精神的具体措施,"
               "建立工作协调机制,分解目标任务,动员部署本辖区职业技能提升三年行动。")
COUNTY_SHOWN = "成立职业技能提升三年行动领导小组,制定贯彻落实国务院、自治区和贵港市相关文件精神的具体措施…"
MONTHLY_TASK = "各县(市、区)月报表由当地人力资源社会保障局于次月5日前报送市人力资源社会保障局。"


def row(ref: str, due: date | None, state: str = "open", *, cooperating: bool = False, plan: str = "seed",
        task: str = "开展企业职工技能提升和转岗转业培训。", today: date = TODAY) -> Row:
    days_overdue = max((today - due).days, 0) if due and state in ("open", "returned") else 0
    return Row(ref=ref, obligation=ref.split("@")[0], unit="hrss" if cooperating else "guiping",
               unit_name="市人社局" if cooperating else "桂平市", task=task, kind="fixed", period="once", due=due,
               original_due=due, state=state, light="red" if days_overdue else "green", days_overdue=days_overdue,
               version=1, cooperating=cooperating, plan=plan, plan_name=f"{plan}-name")


def refs(items) -> list[str]:
    return [i.row.ref for i in items]


def test_a_county_workspace_opens_on_what_is_overdue_or_due_within_ten_working_days() -> None:
    rows = [row("late", date(2020, 6, 5)), row("tomorrow", date(2020, 6, 16)), row("tenth", date(2020, 6, 30)),
            row("eleventh", date(2020, 7, 1)), row("next-year", date(2021, 1, 10)),
            row("done", date(2020, 6, 1), "accepted"), row("handed-in", date(2020, 6, 10), "submitted")]
    sections = arrange(rows, today=TODAY, calendar=CALENDAR)
    assert refs(sections.now) == ["late", "tomorrow", "tenth"]
    assert [i.why for i in sections.now] == ["overdue", "soon", "soon"]
    assert [(m.key, refs(m.items)) for m in sections.months] == [("2020-07", ["eleventh"]), ("2021-01", ["next-year"])]
    assert refs(sections.reviewing) == ["handed-in"]


def test_ten_working_days_are_counted_on_the_plans_calendar_with_its_holidays_and_make_up_days() -> None:
    assert soon_before(TODAY, CALENDAR) == date(2020, 7, 1)  # 30 June is the tenth working day after the 15th
    sections = arrange([row("sunday-worked", date(2020, 6, 28)), row("holiday", date(2020, 6, 26)),
                        row("today", TODAY)], today=TODAY, calendar=CALENDAR)
    assert [(i.row.ref, i.working_days_left) for i in sections.now] == [
        ("today", 0), ("holiday", 7), ("sunday-worked", 8)]
    # Before National Day, ten working days reach well past ten calendar days: 12 October is due soon.
    before_the_holiday = date(2020, 9, 25)
    assert soon_before(before_the_holiday, CALENDAR) == date(2020, 10, 16)
    sections = arrange([row("after-the-holiday", date(2020, 10, 12), today=before_the_holiday)],
                       today=before_the_holiday, calendar=CALENDAR)
    assert [(i.why, i.working_days_left) for i in sections.now] == [("soon", 7)]  # 27 Sep and 10 Oct are worked


def test_overdue_comes_first_most_days_overdue_first_then_returned_then_by_due_date() -> None:
    rows = [row("due-soon-2", date(2020, 6, 17)), row("overdue-5-days", date(2020, 6, 10)),
            row("returned-later", date(2020, 7, 20), "returned"), row("due-soon-1", date(2020, 6, 16)),
            row("overdue-41-days", date(2020, 5, 5)), row("returned-undated", None, "returned"),
            row("returned-overdue-14-days", date(2020, 6, 1), "returned")]
    sections = arrange(rows, today=TODAY, calendar=CALENDAR)
    assert refs(sections.now) == ["overdue-41-days", "returned-overdue-14-days", "overdue-5-days", "returned-later",
                                  "returned-undated", "due-soon-1", "due-soon-2"]
    assert [i.why for i in sections.now] == ["overdue"] * 3 + ["returned"] * 2 + ["soon"] * 2


def test_what_the_unit_handed_in_waits_for_the_offices_review_in_a_section_of_its_own() -> None:
    rows = [row("handed-in-late", date(2020, 5, 5), "submitted"), row("handed-in-early", date(2020, 9, 30),
                                                                      "submitted"),
            row("handed-in-soon", date(2020, 6, 16), "submitted")]
    sections = arrange(rows, today=TODAY, calendar=CALENDAR)
    assert sections.now == [] and sections.months == []
    assert refs(sections.reviewing) == ["handed-in-late", "handed-in-soon", "handed-in-early"]


def test_later_items_fold_by_month_for_twelve_months_and_the_rest_is_only_counted() -> None:
    assert months_end(TODAY) == date(2021, 6, 1) and months_end(date(2020, 12, 31)) == date(2021, 12, 1)
    rows = [row("july-first", date(2020, 7, 1)), row("july-last", date(2020, 7, 31)), row("august", date(2020, 8, 15)),
            row("last-month-shown", date(2021, 5, 31)), row("after", date(2021, 6, 1))]
    sections = arrange(rows, today=TODAY, calendar=CALENDAR, beyond=5)  # five more the query only counted
    assert [(m.key, refs(m.items)) for m in sections.months] == [
        ("2020-07", ["july-first", "july-last"]), ("2020-08", ["august"]), ("2021-05", ["last-month-shown"])]
    assert (sections.beyond, sections.months_end) == (6, date(2021, 6, 1))
    # This month's items past the ten working days are this month's group.
    early = arrange([row("end-of-june", date(2020, 6, 30))], today=date(2020, 6, 1), calendar=CALENDAR)
    assert [(m.key, refs(m.items)) for m in early.months] == [("2020-06", ["end-of-june"])] and early.now == []


def test_items_with_no_date_yet_are_a_group_of_their_own() -> None:
    sections = arrange([row("waits-for-an-event", None), row("dated", date(2020, 8, 1))], today=TODAY,
                       calendar=CALENDAR)
    assert refs(sections.undated) == ["waits-for-an-event"] and [i.why for i in sections.undated] == ["undated"]
    assert [m.key for m in sections.months] == ["2020-08"] and sections.now == []


def test_cooperating_items_are_arranged_apart_from_the_units_own_and_without_what_the_lead_handed_in() -> None:
    rows = [row("own-late", date(2020, 6, 1)), row("their-late", date(2020, 6, 2), cooperating=True),
            row("own-later", date(2020, 9, 1)), row("their-later", date(2020, 9, 2), cooperating=True),
            row("their-handed-in", date(2020, 6, 20), "submitted", cooperating=True)]
    lead, cooperating = arrange_workspace(rows, today=TODAY, calendar=CALENDAR, beyond=(2, 3))
    assert refs(lead.now) == ["own-late"] and refs(cooperating.now) == ["their-late"]
    assert [refs(m.items) for m in lead.months] == [["own-later"]]
    assert [refs(m.items) for m in cooperating.months] == [["their-later"]]
    assert lead.reviewing == [] and cooperating.reviewing == []  # the lead's hand-in waits for the office
    assert "their-handed-in" not in refs(cooperating.now) + [r for m in cooperating.months for r in refs(m.items)]
    assert (lead.beyond, cooperating.beyond) == (2, 3)


def test_the_counts_at_the_top_say_how_many_are_overdue_due_soon_waiting_for_review_and_later() -> None:
    rows = [row("a", date(2020, 5, 1)), row("b", date(2020, 6, 1), "returned"), row("c", date(2020, 7, 30),
                                                                                      "returned"),
            row("d", date(2020, 6, 18)), row("e", date(2020, 6, 1), "submitted"), row("f", date(2020, 8, 1)),
            row("g", None), row("h", date(2020, 6, 1), "waived")]
    sections = arrange(rows, today=TODAY, calendar=CALENDAR, beyond=4)
    assert sections.counts == {"overdue": 2, "returned": 1, "soon": 1, "reviewing": 1, "later": 6}
    assert sum(sections.counts.values()) == len(rows) - 1 + 4  # every active item once; the waived one nowhere


def test_a_long_task_is_cut_at_a_clause_and_a_short_one_is_shown_whole() -> None:
    assert short_task(MONTHLY_TASK) == MONTHLY_TASK
    assert short_task(COUNTY_TASK) == COUNTY_SHOWN  # at the last comma within 48 characters
    # no sentence or clause end past the middle: cut at the limit
    assert short_task("甲乙丙丁。" + "戊" * 60, limit=20) == "甲乙丙丁。" + "戊" * 15 + "…"
    assert short_task("一二三四五六七八九十。十一十二十三十四十五", limit=12) == "一二三四五六七八九十…"
    assert short_task("  多余的\n空白  ") == "多余的 空白"
    sections = arrange([row("long", date(2020, 6, 1), task=COUNTY_TASK)], today=TODAY, calendar=CALENDAR)
    assert sections.now[0].task.endswith("…") and sections.now[0].row.task == COUNTY_TASK  # whole for the title


@pytest.mark.parametrize(("plans", "labels"), [(["seed", "seed"], [None, None]),
                                                (["seed", "assigned-2020"], ["seed-name", "assigned-2020-name"])])
def test_a_row_names_its_plan_only_when_the_units_work_spans_several(plans, labels) -> None:
    rows = [row(f"item-{i}", date(2020, 6, 1 + i), plan=p) for i, p in enumerate(plans)]
    lead, _ = arrange_workspace(rows, today=TODAY, calendar=CALENDAR)
    assert [i.plan_label for i in lead.now] == labels
