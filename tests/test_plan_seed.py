"""The seed plan in deadlines.yaml matches the document it came from, fact by fact."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from responsibilities.deadlines.rules import AfterEvent, External, Fixed, Ongoing, Periodic, Staged, periodic_dues
from responsibilities.plan.loader import load_plan
from responsibilities.plan.model import Plan

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = (Path(__file__).parent / "fixtures" / "guigang-plan-2019.txt").read_text(encoding="utf-8")
COUNTIES = ("guiping", "pingnan", "gangbei", "gangnan", "qintang")


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(ROOT / "deadlines.yaml")


def division_table_items() -> list[tuple[str, int | None]]:
    """(unit cell, item number) for every task row of the document's 工作分工 table."""
    table = DOCUMENT[DOCUMENT.index("工作分工\n责任单位"):DOCUMENT.index("关联文件")]
    cells = [c.strip() for c in table.split("|")][4:]
    items, unit = [], None
    for i, cell in enumerate(cells):
        if not cell:
            continue
        numbered = re.match(r"^(\d+)\.", cell)
        if not numbered and len(cell) < 15 and cell[0] in "市各团":
            unit = cell
        elif numbered or (unit and i > 0 and cells[i - 1] == unit):
            items.append((unit, int(numbered.group(1)) if numbered else None))
    return items


def test_the_plan_header_matches_the_document(plan):
    assert plan.document_number == "贵政办发〔2019〕24号"
    assert plan.unit(plan.issuer).name == "贵港市人民政府办公室"
    assert (plan.written_on, plan.published_on) == (date(2019, 9, 30), date(2019, 10, 23))
    assert plan.time_zone == "Asia/Shanghai"
    assert plan.title in DOCUMENT and plan.notice_title in DOCUMENT
    phases = {p.id: p for p in plan.phases}
    assert phases["preparation"].spans[-1].end == date(2019, 10, 31)
    assert (phases["implementation"].spans[0].start, phases["implementation"].spans[0].end) == (
        date(2019, 11, 1), date(2021, 12, 31))
    assert [s.end for s in phases["summary"].spans] == [date(2019, 12, 31), date(2020, 12, 31), date(2021, 12, 31)]


def test_every_row_of_the_division_table_is_cited_by_an_obligation(plan):
    cited = {(s.unit, s.item or 1) for o in plan.obligations for s in o.sources if s.section == "工作分工"}
    rows = division_table_items()
    assert len(rows) == 46
    missing = [(unit, item) for unit, item in rows if (unit, item or 1) not in cited]
    assert missing == []


def test_every_text_copied_from_the_document_is_verbatim(plan):
    unspaced = DOCUMENT.replace(" ", "")

    def in_document(text: str) -> bool:
        return text in DOCUMENT or text.replace(" ", "") in unspaced

    copied = []
    for o in plan.obligations:
        copied += [o.task, o.deadline.text] + ([o.detail] if o.detail else [])
        copied += [t for s in o.sources for t in (s.quote, s.deadline_text, s.unit) if t]
    copied += [t.text for t in plan.targets.plan_wide] + [r.text for r in plan.targets.ratios]
    copied += [s.text for s in plan.targets.standards] + [s.text for s in plan.targets.breakdown.minimum_shares]
    copied += [p.name for p in plan.leading_group.people] + [p.title for p in plan.leading_group.people]
    # Two-character names are printed with a typesetting space (韦 彦), hence the unspaced comparison.
    not_found = sorted({t for t in copied if not in_document(t)})
    assert not_found == []


def test_group_assignments_become_one_obligation_per_county(plan):
    county_tasks = [o for o in plan.obligations if o.group == "counties"]
    assert Counter(o.declared_id for o in county_tasks) == {"counties-1": 5, "work-1": 5, "work-2": 5, "work-3": 5}
    assert {o.id for o in county_tasks if o.declared_id == "counties-1"} == {f"counties-1.{c}" for c in COUNTIES}
    assert all(o.lead in COUNTIES for o in county_tasks)


def test_every_region_of_the_target_table_owes_monthly_reports_including_the_city_level(plan):
    reports = [o for o in plan.obligations if o.declared_id == "monthly-report"]
    assert [o.lead for o in reports] == [r.region for r in plan.targets.breakdown.regions]
    assert {o.group for o in reports} == {"regions"} and "monthly-report.city-level" in {o.id for o in reports}


def test_the_three_work_tasks_are_led_by_the_counties_with_the_departments_cooperating(plan):
    work_1 = next(o for o in plan.obligations if o.id == "work-1.guiping")
    assert work_1.co_units[0] == "hrss"  # named second, right after the counties
    assert set(work_1.co_units) == {"hrss", "union", "miit", "sasac", "market", "housing", "agriculture",
                                    "industrial-parks", "education", "emergency", "transport", "commerce"}
    work_3 = next(o for o in plan.obligations if o.id == "work-3.qintang")
    assert work_3.co_units == ("hrss", "poverty", "education", "agriculture")


def test_a_duty_written_twice_is_one_obligation_citing_both_places(plan):
    hrss_1 = next(o for o in plan.obligations if o.id == "hrss-1")
    assert {s.section for s in hrss_1.sources} == {"工作分工", "三(一)"}
    assert sum(1 for o in plan.obligations
               if "制定全市职业技能提升" in o.task or "制定全市职业技能提升" in (o.detail or "")) == 1
    preparation_steps = {s.item for o in plan.obligations for s in o.sources if s.section == "三(一)"}
    assert preparation_steps == {1, 2, 3, 4}


def test_obligations_by_deadline_kind_match_the_document(plan):
    kinds = Counter(o.kind for o in plan.obligations)
    assert kinds == {"fixed": 21, "ongoing": 42, "periodic": 7, "after_event": 1, "external": 1, "staged": 1}
    assert len(plan.obligations) == 73  # the 目标分解表 regions each owe monthly reports: 市本级 too


def test_deadlines_are_parsed_to_the_dates_the_document_gives(plan):
    by_id = {o.id: o for o in plan.obligations}
    assert by_id["counties-1.pingnan"].deadline == Fixed("2019年 12月31日前", date(2019, 12, 31))
    assert by_id["finance-1"].deadline.due == date(2019, 9, 30)
    assert by_id["final-summary"].deadline.due == date(2021, 12, 31)
    assert isinstance(by_id["hrss-5"].deadline, Ongoing)
    hrss_2 = by_id["hrss-2"]
    assert isinstance(hrss_2.deadline, AfterEvent) and hrss_2.awaits == "region-supporting-documents"
    assert (hrss_2.deadline.offset, hrss_2.deadline.offset_unit) == (1, "month")
    assert by_id["hrss-9"].deadline == External("按自治区要求上报", body="自治区")
    staged = by_id["hrss-3"].deadline
    assert isinstance(staged, Staged) and staged.stages[0].rule.due == date(2019, 10, 31)
    assert isinstance(staged.stages[1].rule, External)


def test_county_monthly_reports_are_due_on_the_fifth_of_the_next_month(plan):
    report = next(o for o in plan.obligations if o.id == "monthly-report.gangnan")
    assert isinstance(report.deadline, Periodic) and report.report_to == ("hrss",)
    dues = periodic_dues(report.deadline, report.start, plan.end)
    assert dues[0] == (date(2019, 11, 1), date(2019, 12, 5))
    assert dues[-1] == (date(2021, 12, 1), date(2022, 1, 5))
    assert len(dues) == 26


def test_bulletins_fall_at_the_end_of_2019_and_2020_only(plan):
    bulletin = next(o for o in plan.obligations if o.id == "bulletin")
    dues = [due for _, due in periodic_dues(bulletin.deadline, plan.start, bulletin.until)]
    assert dues == [date(2019, 12, 31), date(2020, 12, 31)]


def test_every_unit_with_obligations_has_a_leading_group_member_to_escalate_to(plan):
    leads = {o.lead for o in plan.obligations} - {"city-level"}
    assert {lead: plan.leading_group.member_for(lead) is not None for lead in leads} == {lead: True for lead in leads}
    # 市本级 is no government of its own: the city HR bureau (which houses the office) compiles its figures
    assert plan.unit("city-level").kind == "region" and plan.leading_group.member_for("city-level") is None
    assert plan.leading_group.member_for("guiping").name == "蒙家坤"
    assert plan.leading_group.leader.name == "韦彦"
    assert [d.name for d in plan.leading_group.deputies] == ["陈新汉", "黄创优"]
    assert len(plan.leading_group.members) == 27
    assert plan.leading_group.office.housed_in == "hrss"


def test_units_carry_the_other_names_the_text_uses(plan):
    hrss = plan.unit("hrss")
    assert {"市人力资源社会保障局", "市人力资源和社会保障局", "人力资源社会保障局"} <= set(hrss.aliases)
    assert all(c.email.endswith(".example") for u in plan.units for c in u.contacts)
    assert all(p.email.endswith(".example") for p in plan.leading_group.people)
    member_units = {p.unit for p in plan.leading_group.members}
    assert member_units <= {u.id for u in plan.units}


def test_targets_match_the_breakdown_table(plan):
    breakdown = plan.targets.breakdown
    rows = {r.region: (r.total, dict(r.by_year)) for r in breakdown.regions}
    assert rows["guiping"] == (31200, {2019: 7800, 2020: 11700, 2021: 11700})
    assert rows["city-level"] == (12000, {2019: 3000, 2020: 4500, 2021: 4500})
    assert (breakdown.totals.total, dict(breakdown.totals.by_year)) == (120000, {2019: 30000, 2020: 45000, 2021: 45000})
    plan_wide = {t.id: t.value for t in plan.targets.plan_wide}
    assert plan_wide == {"total": 120000, "enterprise-workers": 60000, "other-groups": 60000, "key-groups": 50000,
                         "poor-labour": 10000, "new-apprentices": 1000, "year-2019": 30000, "year-2020": 45000,
                         "year-2021": 45000}
    assert breakdown.minimum_shares[0].at_least_percent == 50
    assert [r.at_least_percent for r in plan.targets.ratios] == [25, 25]


def test_supervision_settings_give_a_full_escalation_ladder(plan):
    s = plan.supervision
    assert s.reminder_working_days_before == (5, 1, 0)
    assert [step.to for step in s.escalation] == [("unit-member",), ("office", "deputies"), ("leader",)]
    assert isinstance(s.ongoing_cadence, Periodic) and s.ongoing_cadence.every == "quarter"
