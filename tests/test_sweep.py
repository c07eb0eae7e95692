"""The daily sweep against a real SQLite file of the seed plan: what is owed, when, once, and without a flood."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from responsibilities.notices.sweep import sweep
from responsibilities.storage.model import Deliverable, Notice
from responsibilities.tracking import services

from conftest import HRSS, OFFICE, ROOT, at, seed_key

pytestmark = pytest.mark.both_databases


def run_sweep(session_factory, day: date, **kwargs):
    return sweep(session_factory, now=at(day.year, day.month, day.day, 8), today=day, **kwargs)


def sweep_every_day(session_factory, first: date, last: date) -> None:
    day = first
    while day <= last:
        run_sweep(session_factory, day)
        day += timedelta(days=1)


def notices_of(session_factory, ref: str) -> dict[str, date]:
    """The dedupe keys written for one deliverable, with the day each was owed."""
    with session_factory() as session:
        deliverable_id = session.scalars(select(Deliverable.id).where(Deliverable.ref == ref)).one()
        rows = session.execute(select(Notice.dedupe_key, Notice.owed_on).where(Notice.deliverable_id == deliverable_id))
        return {key.replace(f":{deliverable_id}:", ":", 1): owed for key, owed in rows}


def external_deliverable(session_factory, due: date) -> str:
    """hrss-9 takes its dates from the autonomous region: a deliverable due exactly when a test needs."""
    return services.set_external_date(session_factory, actor=OFFICE, obligation_id="hrss-9", due=due,
                                      now=at(2019, 9, 30))


def test_reminders_fall_five_working_days_before_one_day_before_and_on_the_due_date(loaded, session_factory):
    sweep_every_day(session_factory, date(2019, 10, 21), date(2019, 10, 31))
    assert notices_of(session_factory, "hrss-4") == {
        "reminder:5": date(2019, 10, 24),  # 25, 28, 29, 30, 31 October: five working days to go
        "reminder:1": date(2019, 10, 30),
        "reminder:0": date(2019, 10, 31),
    }


def test_a_due_date_after_national_day_2019_is_reminded_on_working_days_only(loaded, session_factory):
    external_deliverable(session_factory, date(2019, 10, 8))
    sweep_every_day(session_factory, date(2019, 9, 20), date(2019, 10, 12))
    # 29 September (a Sunday) is a make-up working day; 1–7 October are the holiday.
    assert notices_of(session_factory, "hrss-9@2019-10-08") == {
        "reminder:5": date(2019, 9, 25),   # 26, 27, 29, 30 September and 8 October remain
        "reminder:1": date(2019, 9, 30),   # the last working day before the holiday
        "reminder:0": date(2019, 10, 8),
        "chase:1": date(2019, 10, 9),
        "escalation:1": date(2019, 10, 11),  # three working days overdue: the unit's member is told
        "chase:2": date(2019, 10, 12),     # a Saturday, and a make-up working day
    }


def test_a_due_date_inside_the_extended_2020_spring_festival_is_chased_on_the_first_working_day_after(
        loaded, session_factory):
    external_deliverable(session_factory, date(2020, 1, 31))
    sweep_every_day(session_factory, date(2020, 1, 15), date(2020, 2, 4))
    # 24 January to 2 February 2020 were days off; 19 January (a Sunday) was a make-up working day.
    assert notices_of(session_factory, "hrss-9@2020-01-31") == {
        "reminder:5": date(2020, 1, 17),   # 19, 20, 21, 22, 23 January: the last five before the break
        "reminder:1": date(2020, 1, 22),
        "reminder:0": date(2020, 1, 23),   # the due day itself is a holiday: the last working day before it
        "chase:1": date(2020, 2, 3),
    }


def test_no_notice_is_written_on_a_holiday_or_a_weekend(loaded, session_factory):
    for holiday in (date(2019, 10, 1), date(2019, 11, 2), date(2020, 1, 27)):
        report = run_sweep(session_factory, holiday)
        assert not report.working_day and report.total == 0
    assert loaded.count("notices") == 0


def test_the_same_sweep_twice_writes_every_owed_notice_once(loaded, session_factory):
    first = run_sweep(session_factory, date(2019, 11, 15))
    assert first.total > 0
    second = run_sweep(session_factory, date(2019, 11, 15))
    assert second.written == {"reminder": 0, "chase": 0, "escalation": 0, "office": 0}
    assert loaded.count("notices") == first.total


def test_the_report_counts_exactly_the_notices_it_wrote_of_each_kind(loaded, session_factory):
    # 6 January 2020: the quarter's progress reports and December's monthly reports come due, the autumn's late
    # work is chased and escalated, and the event and the outside date are still missing.
    report = run_sweep(session_factory, date(2020, 1, 6))
    assert report.written == {"reminder": 157, "chase": 34, "escalation": 28, "office": 2}
    with session_factory() as session:
        written = dict(session.execute(select(Notice.kind, func.count()).group_by(Notice.kind)).all())
    assert written == report.written


@pytest.mark.slow
def test_two_sweeps_in_two_processes_at_once_write_each_notice_once(loaded, session_factory):
    code = ("import sys; from datetime import date; sys.path.insert(0, 'tests');"
            "from conftest import at; from responsibilities.storage import db; "
            "from responsibilities.notices.sweep import sweep;"
            f"f = db.make_session_factory(db.make_engine('{loaded.url}'));"
            "print(sweep(f, now=at(2019, 11, 15, 8), today=date(2019, 11, 15)).total)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
            for _ in range(2)]
    totals = sorted(int(p.communicate(timeout=120)[0]) for p in runs)
    assert all(p.returncode == 0 for p in runs)
    with session_factory() as session:
        keys = list(session.scalars(select(Notice.dedupe_key)))
    assert len(keys) == len(set(keys)) == sum(totals)
    assert totals[0] == 0  # whoever came second found everything written


def test_after_30_days_down_only_the_latest_chase_and_the_highest_escalation_go_out(loaded, session_factory):
    run_sweep(session_factory, date(2019, 10, 24))  # the last sweep before the outage
    run_sweep(session_factory, date(2019, 11, 25))  # 32 days later
    assert notices_of(session_factory, "hrss-4") == {
        "reminder:5": date(2019, 10, 24),
        "chase:6": date(2019, 11, 25),       # 17 working days overdue: (17 - 1) // 3 + 1
        "escalation:3": date(2019, 11, 25),  # levels 1 and 2 are superseded, never sent
    }
    run_sweep(session_factory, date(2019, 11, 26))
    assert set(notices_of(session_factory, "hrss-4")) == {"reminder:5", "chase:6", "escalation:3"}


def test_the_escalation_ladder_climbs_level_by_level_when_the_sweep_runs_daily(loaded, session_factory):
    sweep_every_day(session_factory, date(2019, 11, 1), date(2019, 11, 15))
    steps = notices_of(session_factory, "hrss-4")
    assert (steps["escalation:1"], steps["escalation:2"], steps["escalation:3"]) == (
        date(2019, 11, 5), date(2019, 11, 7), date(2019, 11, 14))  # 3, 5 and 10 working days overdue


def test_co_units_get_the_reminders_of_obligations_they_cooperate_on_marked_as_such(loaded, session_factory):
    run_sweep(session_factory, date(2020, 1, 6))  # work-1.* for 2019-Q4 are due 2020-01-10
    with session_factory() as session:
        deliverable_id = session.scalars(select(Deliverable.id)
                                         .where(Deliverable.ref == "work-1.guiping@2019-Q4")).one()
        rows = session.execute(select(Notice.audience, Notice.unit_id)
                               .where(Notice.deliverable_id == deliverable_id)).all()
    audiences = dict((unit, audience) for audience, unit in rows)
    assert audiences["guiping"] == "unit"
    assert audiences["union"] == "co-unit:union" and audiences["hrss"] == "co-unit:hrss"
    assert len(rows) == 13  # the lead and its twelve co-units


def test_handed_in_and_signed_off_deliverables_are_neither_reminded_nor_chased(loaded, session_factory):
    services.submit(session_factory, actor=HRSS, ref="hrss-4", now=at(2019, 10, 22), note="已办结")
    services.submit(session_factory, actor=HRSS, ref="prep-2", now=at(2019, 10, 22), note="已办结")
    services.accept(session_factory, actor=OFFICE, ref="prep-2", now=at(2019, 10, 23))
    sweep_every_day(session_factory, date(2019, 10, 24), date(2019, 11, 15))
    assert notices_of(session_factory, "hrss-4") == {} and notices_of(session_factory, "prep-2") == {}
    assert notices_of(session_factory, "hrss-1")  # still open: chased


def test_the_office_is_told_when_an_event_is_still_not_recorded_after_the_grace_period(loaded, session_factory):
    sweep_every_day(session_factory, date(2019, 11, 18), date(2019, 11, 22))
    with session_factory() as session:
        office = session.execute(select(Notice.dedupe_key, Notice.owed_on).where(Notice.kind == "office")).all()
    # 20 working days after publication (2019-10-23): 20 November. hrss-9 waits for dates the same way.
    assert sorted(office) == [(f"office:{seed_key('hrss-2')}:awaiting", date(2019, 11, 20)),
                              (f"office:{seed_key('hrss-9')}:awaiting", date(2019, 11, 20))]


def test_a_recorded_event_stops_the_office_notice(loaded, session_factory):
    services.record_event(session_factory, actor=OFFICE, event_id="region-supporting-documents",
                          occurred_on=date(2019, 11, 1), now=at(2019, 11, 4))
    run_sweep(session_factory, date(2019, 11, 25))
    with session_factory() as session:
        keys = set(session.scalars(select(Notice.dedupe_key).where(Notice.kind == "office")))
    assert keys == {f"office:{seed_key('hrss-9')}:awaiting"}


def test_a_dry_run_lists_what_a_real_run_writes_and_writes_nothing(loaded, session_factory):
    planned = run_sweep(session_factory, date(2019, 11, 15), dry_run=True)
    assert loaded.count("notices") == 0
    done = run_sweep(session_factory, date(2019, 11, 15))
    assert len(planned.would_write) == done.total
    with session_factory() as session:
        assert {row["dedupe_key"] for row in planned.would_write} == set(session.scalars(select(Notice.dedupe_key)))


def test_a_day_beyond_the_loaded_calendar_is_refused_with_what_to_do(loaded, session_factory):
    with pytest.raises(Exception, match="2031-01-06 超出了随工作方案载入的工作日历.*calendar.years"):
        run_sweep(session_factory, date(2031, 1, 6))
