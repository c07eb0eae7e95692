"""A plan read from a document, corrected by the office, published into the database (issue 16).

The document is a 重点任务分解 of the seed's own office, with one unit the directory lacks (市大数据发展局) and one
deadline no parser can read (尽快完成): the office defines the unit and rewrites the deadline, and the plan is added
beside the seed plan, its escalations going to each unit's leader in charge and the office (it names no leading
group).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from responsibilities.errors import InvalidInput
from responsibilities.importing.corrections import CorrectionRefused, Corrections
from responsibilities.importing.service import import_document
from responsibilities.reading.directory import office_directory
from responsibilities.reading.plans import plan_list
from responsibilities.storage.model import Deliverable, PlanRecord, UnitRecord
from responsibilities.tracking.imports import publish_draft

from conftest import OFFICE, at, database_unchanged

pytestmark = pytest.mark.both_databases

DOCUMENT = Path(__file__).parent / "fixtures" / "import" / "guigang-2020-key-tasks.txt"
NOW = at(2020, 3, 5)


def read(session_factory, corrections: Corrections | None = None):
    return import_document(DOCUMENT.read_bytes(), DOCUMENT.name, office_directory(session_factory),
                           plan_id="skills-2020-tasks", corrections=corrections)


def test_a_draft_with_flags_left_is_refused_with_each_problem_and_nothing_is_written(loaded, session_factory):
    imported = read(session_factory)
    assert [f.code for f in imported.reading.flags] == ["unknown-unit", "deadline-not-understood"]
    with database_unchanged(loaded), pytest.raises(InvalidInput) as refused:
        publish_draft(session_factory, imported.draft, actor=OFFICE, now=NOW)
    assert "市大数据发展局" in str(refused.value) and "尽快完成" in str(refused.value)


def test_the_corrected_draft_is_published_beside_the_seed_plan_with_its_new_unit(loaded, session_factory):
    corrections = Corrections(new_units={"市大数据发展局": ("big-data", "贵港市大数据发展局")},
                              deadlines={2: "2020年9月30日前"})
    imported = read(session_factory, corrections)
    assert imported.reading.flags == []
    assert publish_draft(session_factory, imported.draft, actor=OFFICE, now=NOW) == "skills-2020-tasks"

    listed = {p.id: p for p in plan_list(session_factory, today=date(2020, 3, 5))}
    assert listed["skills-2020-tasks"].short_name == "贵港市2020年职业技能提升行动重点任务分解表"
    assert listed["skills-2020-tasks"].obligations == 4
    with session_factory() as session:
        assert session.get(UnitRecord, "big-data").name == "贵港市大数据发展局"
        others = select(Deliverable.unit_id, Deliverable.due).where(Deliverable.plan_id == "skills-2020-tasks",
                                                                     Deliverable.unit_id != "hrss")
        dues = dict(session.execute(others).all())
        assert dues == {"finance": date(2020, 6, 30), "big-data": date(2020, 9, 30)}
        office = session.get(PlanRecord, "skills-2020-tasks").settings["office"]
        assert office["name"] == "贵港市职业技能提升行动领导小组办公室"  # the office-wide one: no leading group here


@pytest.mark.parametrize("corrections, says", [
    (Corrections(units={"市大数据发展局": "no-such-unit"}), "没有编号为“no-such-unit”的单位"),
    (Corrections(new_units={"市大数据发展局": ("hrss", "贵港市大数据发展局")}), "编号“hrss”已有单位使用"),
    (Corrections(new_units={"市大数据发展局": ("Big Data", "贵港市大数据发展局")}), "不合规"),
    (Corrections(deadlines={2: "尽快"}), "无法读懂完成时限“尽快”"),
])
def test_a_correction_that_cannot_apply_is_refused_in_words(loaded, session_factory, corrections, says):
    with pytest.raises(CorrectionRefused, match=says):
        read(session_factory, corrections)


def test_an_overdue_item_of_a_plan_without_a_leading_group_escalates_to_the_units_leader_else_the_office(
        loaded, session_factory):
    from notifications.messages import recipients_for
    from responsibilities.notices.sweep import sweep
    from responsibilities.storage.model import Notice

    corrections = Corrections(new_units={"市大数据发展局": ("big-data", "贵港市大数据发展局")},
                              deadlines={2: "2020年9月30日前"})
    publish_draft(session_factory, read(session_factory, corrections).draft, actor=OFFICE, now=NOW)
    with session_factory.begin() as session:  # finance has its leader in charge on record; big-data has none
        session.get(UnitRecord, "finance").leader = {"name": "李明", "title": "副市长", "email": "li-ming@gov.example"}
    for day in (date(2020, 7, 3), date(2020, 10, 12)):  # three working days after 06-30, and after 09-30
        sweep(session_factory, now=at(day.year, day.month, day.day), today=day)
    with session_factory() as session:
        first_rung = {n.unit_id: recipients_for(session, n) for n in session.scalars(
            select(Notice).where(Notice.plan_id == "skills-2020-tasks", Notice.kind == "escalation",
                                 Notice.level == 1))}
    assert first_rung["finance"] == ("li-ming@gov.example",)
    assert first_rung["big-data"] == ("office@guigang.example",)  # no leader on record: the office at once
