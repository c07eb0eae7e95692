"""Traffic lights in SQL, and every unit's lights kept as of one day (migration 0007).

A light depends on the day only for open or returned deliverables with a due date: red before the day, yellow
before the due-soon day, green after. So the counts of one day become the next day's by re-counting only the
deliverables due between the two days or between the two due-soon days: ``move`` does that, a few thousand
index entries for a day's step, however many deliverables there are. The database's triggers keep the counts
exact for the stored day between moves (every submit, accept, extension, plan change).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import bindparam, case, delete, func, insert, literal, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.storage.db import read_session
from responsibilities.storage.model import Deliverable, LightsDay, UnitLights
from responsibilities.storage.plans import require_plan

LIGHTS = ("red", "yellow", "green", "grey")
UNDECIDED = ("open", "returned")  # the states whose light depends on the day


def soon_before(session: Session, today: date) -> date:
    """The first day that is not due soon: working days in (today, due] <= window ⇔ due < this day."""
    return require_plan(session).soon_before(today)


def band(today: Any, first_not_soon: Any) -> Any:
    """The light of an undecided, dated deliverable (dates, or bound parameters)."""
    return case((Deliverable.due < today, literal("red")), (Deliverable.due < first_not_soon, literal("yellow")),
                else_=literal("green"))


def light_of(today: date, first_not_soon: date) -> Any:
    """``rules.light`` as a SQL expression over ``Deliverable`` (migration 0007's triggers use the same CASE)."""
    return case(
        (Deliverable.state.in_(("accepted", "waived")), literal("green")),
        (Deliverable.state == "submitted", literal("yellow")),
        (Deliverable.due.is_(None), literal("grey")),
        else_=band(today, first_not_soon),
    )


def current(session: Session, today: date, first_not_soon: date) -> bool:
    """Are the kept lights ``today``'s, with its due-soon day (``soon_before``; a change of the calendar moves
    it)?"""
    day = session.get(LightsDay, 1)
    return day is not None and (day.today, day.soon_before) == (today, first_not_soon)


def keep_up(session_factory: sessionmaker[Session], today: date) -> None:
    """Make the kept lights ``today``'s, in a write transaction, unless they are already."""
    with read_session(session_factory) as session:
        if current(session, today, soon_before(session, today)):
            return
    with session_factory.begin() as session:
        move(session, today)


def move(session: Session, today: date) -> None:
    """Make the kept lights ``today``'s: count every deliverable the first time, else only those whose light
    differs between the stored day and ``today``."""
    _hold_deliverables(session)
    first_not_soon = soon_before(session, today)
    day = session.get(LightsDay, 1)
    if day is None:
        _count_all(session, today, first_not_soon)
        session.add(LightsDay(id=1, today=today, soon_before=first_not_soon))
    elif (day.today, day.soon_before) != (today, first_not_soon):
        _count_changed(session, (day.today, day.soon_before), (today, first_not_soon))
        day.today, day.soon_before = today, first_not_soon
    session.flush()


def _hold_deliverables(session: Session) -> None:
    """On PostgreSQL, no change to the deliverables and no other move until this move commits (SQLite's write
    transactions are one at a time anyway). A move re-counts from a snapshot and adds the difference; at READ
    COMMITTED, a second move at once would add it again, and a deliverable changed meanwhile would be counted by
    its trigger for the old day and then moved as it was before the change. SHARE ROW EXCLUSIVE waits for the
    writers under way, holds off new ones (for the ~0.2 s a day's move takes at a million deliverables) and is
    taken by one move at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE deliverables IN SHARE ROW EXCLUSIVE MODE"))


def _count_all(session: Session, today: date, first_not_soon: date) -> None:
    light = light_of(today, first_not_soon)
    counts = [func.count(case((light == colour, 1))) for colour in LIGHTS]
    session.execute(delete(UnitLights))
    session.execute(insert(UnitLights).from_select(
        ["unit_id", *LIGHTS],
        select(Deliverable.unit_id, *counts).where(Deliverable.retired.is_(False)).group_by(Deliverable.unit_id)))


def _count_changed(session: Session, old: tuple[date, date], new: tuple[date, date]) -> None:
    """Outside [earlier day, later due-soon day) an undecided deliverable is red on both days or green on both."""
    was, now = band(*old).label("was"), band(*new).label("now")  # labels: GROUP BY names them, not repeats them
    changed = (select(Deliverable.unit_id, was, now, func.count())
               .where(Deliverable.state.in_(UNDECIDED), Deliverable.due >= min(old[0], new[0]),
                      Deliverable.due < max(old[1], new[1]), Deliverable.retired.is_(False))
               .group_by(Deliverable.unit_id, was, now))
    deltas: dict[str, dict[str, int]] = {}
    for unit_id, before, after, n in session.execute(changed):
        if before != after:
            delta = deltas.setdefault(unit_id, dict.fromkeys(LIGHTS[:3], 0))
            delta[before] -= n
            delta[after] += n
    if deltas:  # one UPDATE, executed once per unit (executemany); bound names differ from the columns'
        table = UnitLights.__table__
        session.connection().execute(
            update(table).where(table.c.unit_id == bindparam("unit_"))
            .values({c: table.c[c] + bindparam(f"{c}_") for c in LIGHTS[:3]}),
            [{"unit_": u, **{f"{c}_": n for c, n in d.items()}} for u, d in deltas.items()])
