"""Many plans in one database: plans as records, one directory of units, refs unique within a plan (issue 15).

The second plan here is the seed plan under another id (its refs are the seed's: the ambiguity case), or the
seed plan with a unit changed, built from the seed's own objects so that each test says what differs.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select

from responsibilities.errors import IllegalTransition, InvalidInput, NotFound
from responsibilities.plan.loader import load_plan
from responsibilities.plan.model import Unit
from responsibilities.reading import queries
from responsibilities.reading.plans import plan_list
from responsibilities.storage import plan_sync
from responsibilities.storage.model import Deliverable, Notice, UnitPlan, UnitRecord
from responsibilities.storage.plan_sync import PlanConflict
from responsibilities.tracking import services
from responsibilities.tracking.access import AmbiguousReference
from responsibilities.tracking.plans import add_plan, close_plan

from conftest import HRSS, OFFICE, SEED_ID, at, database_unchanged

SECOND = "second-plan"
ADDED_AT = at(2019, 10, 24)


@pytest.fixture(scope="module")
def seed():
    from conftest import SEED_PLAN

    return load_plan(SEED_PLAN)


@pytest.fixture
def second(seed):
    """The seed plan again under another id and short name: every ref and unit is the seed's."""
    return replace(seed, id=SECOND, short_name="第二个方案")


def test_a_second_plan_is_added_beside_the_first_and_names_the_same_units(loaded, session_factory, second):
    units = loaded.count("units")
    add_plan(session_factory, second, now=ADDED_AT)

    rows = {r.id: r for r in plan_list(session_factory, today=date(2019, 10, 24))}
    assert list(rows) == [SEED_ID, SECOND]
    assert rows[SECOND].short_name == "第二个方案" and rows[SECOND].deliverables == rows[SEED_ID].deliverables
    assert loaded.count("units") == units  # the same units, not copies
    with session_factory() as session:
        assert set(session.scalars(select(UnitPlan.plan_id).where(UnitPlan.unit_id == "hrss"))) == {SEED_ID, SECOND}


def test_adding_a_plan_whose_id_is_taken_is_refused_and_changes_nothing(loaded, session_factory, seed):
    with database_unchanged(loaded), pytest.raises(InvalidInput, match=f"方案编号“{SEED_ID}”已被"):
        add_plan(session_factory, seed, now=ADDED_AT)


def test_a_unit_defined_otherwise_than_in_another_plan_is_refused_naming_both_places(loaded, session_factory,
                                                                                     second):
    renamed = tuple(replace(u, name="贵港市人社局(另一名称)") if u.id == "hrss" else u for u in second.units)
    with database_unchanged(loaded), pytest.raises(PlanConflict) as refused:
        add_plan(session_factory, replace(second, units=renamed), now=ADDED_AT)
    assert refused.value.problems == [f'units[hrss].name: "贵港市人社局(另一名称)" here, but plan {SEED_ID} defines '
                                      'unit hrss as "贵港市人力资源和社会保障局"']


def test_a_unit_that_leaves_one_plan_stays_for_the_other_and_one_named_by_none_is_retired(loaded, session_factory,
                                                                                          second):
    extra = Unit("city-archives", "贵港市档案馆", ("市档案馆",), "department", ())
    add_plan(session_factory, replace(second, units=(*second.units, extra)), now=ADDED_AT)
    without = tuple(u for u in second.units if u.id != "drc")
    plan_sync.sync_plan(session_factory, replace(second, units=without), now=at(2019, 10, 25))

    with session_factory() as session:
        assert session.get(UnitRecord, "drc").retired is False  # the seed plan still names it
        assert session.get(UnitPlan, (SECOND, "drc")) is None and session.get(UnitPlan, (SEED_ID, "drc")) is not None
        assert session.get(UnitRecord, "city-archives").retired is True  # no plan names it any more


def test_the_same_unit_in_two_plans_adds_up_its_aliases_and_addresses(loaded, session_factory, second):
    wider = tuple(replace(u, aliases=(*u.aliases, "人社局(简称)")) if u.id == "hrss" else u for u in second.units)
    report = add_plan(session_factory, replace(second, units=wider), now=ADDED_AT)
    assert report.as_dict()["units"] == {"updated": 1}  # hrss's aliases; every other unit as the seed defines it
    with session_factory() as session:
        hrss = session.get(UnitRecord, "hrss")
        assert "人社局(简称)" in hrss.aliases and "市人社局" in hrss.aliases
        assert hrss.name == "贵港市人力资源和社会保障局" and hrss.emails == ["hrss@guigang.example"]


def test_a_ref_two_plans_have_is_refused_with_the_candidates_and_the_plan_qualified_ref_names_one(
        loaded, session_factory, second):
    add_plan(session_factory, second, now=ADDED_AT)

    with pytest.raises(AmbiguousReference) as refused:
        queries.show(session_factory, ref="hrss-4")
    assert [c[2] for c in refused.value.candidates] == [f"{SEED_ID}:hrss-4", f"{SECOND}:hrss-4"]
    assert "--plan" in str(refused.value) and "第二个方案" in str(refused.value)

    change = services.submit(session_factory, actor=HRSS, ref=f"{SECOND}:hrss-4", note="已办结", now=at(2019, 10, 28))
    with session_factory() as session:
        states = dict(session.execute(select(Deliverable.plan_id, Deliverable.state)
                                      .where(Deliverable.ref == "hrss-4")).all())
    assert change.state == "submitted" and states == {SECOND: "submitted", SEED_ID: "open"}


def test_an_ambiguous_ref_is_refused_before_anything_changes(loaded, session_factory, second):
    add_plan(session_factory, second, now=ADDED_AT)
    with database_unchanged(loaded), pytest.raises(AmbiguousReference):
        services.submit(session_factory, actor=HRSS, ref="hrss-4", note="已办结", now=at(2019, 10, 28))


def test_a_closed_plan_owes_no_more_notices_and_stays_in_the_status(loaded, session_factory, second):
    from responsibilities.notices.sweep import sweep

    add_plan(session_factory, second, now=ADDED_AT)
    close_plan(session_factory, plan_id=SECOND, actor=OFFICE, now=at(2019, 10, 25))
    sweep(session_factory, now=at(2019, 10, 28), today=date(2019, 10, 28))

    with session_factory() as session:
        planned = set(session.scalars(select(Deliverable.plan_id)
                                      .join(Notice, Notice.deliverable_id == Deliverable.id)))
    assert planned == {SEED_ID}
    rows = queries.status(session_factory, today=date(2019, 10, 28))
    assert {r.plan for r in rows} == {SEED_ID, SECOND}
    assert next(r for r in plan_list(session_factory, today=date(2019, 10, 28)) if r.id == SECOND).closed_on


def test_closing_a_plan_twice_or_one_that_is_not_there_is_refused(loaded, session_factory, second):
    add_plan(session_factory, second, now=ADDED_AT)
    close_plan(session_factory, plan_id=SECOND, actor=OFFICE, now=at(2019, 10, 25))
    with database_unchanged(loaded):
        with pytest.raises(IllegalTransition, match="已于 2019-10-25 由 office 结束"):
            close_plan(session_factory, plan_id=SECOND, actor=OFFICE, now=at(2019, 10, 26))
        with pytest.raises(NotFound, match="没有编号为“no-such-plan”的工作方案"):
            close_plan(session_factory, plan_id="no-such-plan", actor=OFFICE, now=at(2019, 10, 26))


def test_only_the_office_adds_or_closes_a_plan(loaded, session_factory, second):
    from responsibilities.errors import NotAllowed

    with database_unchanged(loaded):
        with pytest.raises(NotAllowed):
            add_plan(session_factory, second, now=ADDED_AT, actor=HRSS)
        with pytest.raises(NotAllowed):
            close_plan(session_factory, plan_id=SEED_ID, actor=HRSS, now=ADDED_AT)


def test_each_plans_escalations_go_up_its_own_leading_group(loaded, session_factory, second):
    from notifications.messages import recipients_for
    from responsibilities.notices.sweep import sweep

    other_leader = replace(second.leading_group.leader, id="li-other", name="李另", email="li-other@guigang.example")
    group = replace(second.leading_group, leader=other_leader)
    add_plan(session_factory, replace(second, leading_group=group), now=ADDED_AT)
    sweep(session_factory, now=at(2019, 11, 20), today=date(2019, 11, 20))  # hrss-4 (due 10-31): level 3 on day 14

    with session_factory() as session:
        leaders = {}
        for notice, plan in session.execute(select(Notice, Deliverable.plan_id)
                                            .join(Deliverable, Notice.deliverable_id == Deliverable.id)
                                            .where(Notice.kind == "escalation", Notice.level == 3,
                                                   Deliverable.ref == "hrss-4")):
            leaders[plan] = recipients_for(session, notice)
    assert leaders == {SEED_ID: ("wei-yan@guigang.example",), SECOND: ("li-other@guigang.example",)}


def test_the_dashboard_shows_every_plan_at_once_or_one_alone(loaded, session_factory, second):
    from responsibilities.reading import board

    add_plan(session_factory, second, now=ADDED_AT)
    services.submit(session_factory, actor=HRSS, ref=f"{SECOND}:hrss-4", note="已办结", now=at(2019, 10, 28))
    today = date(2019, 11, 4)

    def totals(plan=None):
        return board.board(session_factory, today=today, viewer=OFFICE, filters=board.Filters(plan=plan)).totals

    everything, seed_only, second_only = totals(), totals(SEED_ID), totals(SECOND)
    assert everything == {c: seed_only[c] + second_only[c] for c in everything}
    assert second_only["yellow"] == seed_only["yellow"] + 1  # the submitted hrss-4 waits for review there
    for plan in (None, SEED_ID, SECOND):
        filters = board.Filters(plan=plan)
        assert board.board(session_factory, today=today, viewer=OFFICE, filters=filters) == board.board_by_aggregate(
            session_factory, today=today, viewer=OFFICE, filters=filters)
    reviews = board.review_queue(session_factory, today=today, viewer=OFFICE, filters=board.Filters(plan=SEED_ID))
    assert reviews.total == 0
    late = board.overdue(session_factory, today=today, viewer=OFFICE, filters=board.Filters(plan=SECOND))
    assert {r.plan for r in late.items} == {SECOND} and late.total == len(
        [r for r in queries.status(session_factory, today=today) if r.plan == SECOND and r.light == "red"])
    with pytest.raises(NotFound, match="没有编号为“no-such-plan”的工作方案"):
        totals("no-such-plan")


def test_plans_with_the_same_rules_are_swept_together_and_each_plan_keeps_its_own(loaded, session_factory, seed,
                                                                                   second):
    from responsibilities.notices.sweep import prepare, sweep

    # third: reminders 3 working days before only, and published later (its grace period for the office too)
    third = replace(seed, id="third-plan", short_name="第三个方案", published_on=date(2019, 11, 8),
                    supervision=replace(seed.supervision, reminder_working_days_before=(3,)))
    add_plan(session_factory, second, now=ADDED_AT)
    add_plan(session_factory, third, now=ADDED_AT)
    with session_factory() as session:
        sweeps, _ = prepare(session, date(2019, 11, 20), at(2019, 11, 20))
    assert sorted(s.plans for s in sweeps) == [(SEED_ID, SECOND), ("third-plan",)]

    for day in range(21, 32):  # hrss-4 is due on 31 October in each plan
        sweep(session_factory, now=at(2019, 10, day), today=date(2019, 10, day))
    sweep(session_factory, now=at(2019, 11, 20), today=date(2019, 11, 20))
    with session_factory() as session:
        reminders: dict[str, dict[int, date]] = {}
        for plan, level, owed_on in session.execute(
                select(Deliverable.plan_id, Notice.level, Notice.owed_on)
                .join(Deliverable, Notice.deliverable_id == Deliverable.id)
                .where(Notice.kind == "reminder", Notice.audience == "unit", Deliverable.ref == "hrss-4")):
            reminders.setdefault(plan, {})[level] = owed_on
        mislabelled = session.scalars(select(Notice.id).join(Deliverable, Notice.deliverable_id == Deliverable.id)
                                      .where(Notice.plan_id != Deliverable.plan_id)).all()
        told = set(session.scalars(select(Notice.plan_id).where(Notice.kind == "office")))
    seed_reminders = {5: date(2019, 10, 24), 1: date(2019, 10, 30), 0: date(2019, 10, 31)}
    assert reminders == {SEED_ID: seed_reminders, SECOND: seed_reminders, "third-plan": {3: date(2019, 10, 28)}}
    assert mislabelled == []  # each notice names its deliverable's plan
    assert told == {SEED_ID, SECOND}  # 20 working days after 23 October; not yet after 8 November


@pytest.mark.both_databases
def test_the_office_directory_holds_every_unit_and_the_groups_the_plans_define(loaded, session_factory):
    from responsibilities.reading.directory import office_directory

    directory = office_directory(session_factory)
    assert directory.resolve("市人社局").id == "hrss" and directory.resolve("人力资源和社会保障局").id == "hrss"
    counties = directory.resolve("各(县、市)区人民政府")
    assert counties.group and directory.entry(counties.id).members == ("guiping", "pingnan", "gangbei", "gangnan",
                                                                        "qintang")
    assert directory.resolve("市宇宙局").status == "unknown"
