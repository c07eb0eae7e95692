"""A calendar feed (.ics, RFC 5545) of open deliverables: one all-day event on each due date, with an alarm on each
day the plan reminds (``reminder_working_days_before``, counted in working days, at 09:00), so that Outlook, WPS
and phone calendars show what is due and remind as duban does.

A unit's feed holds the deliverables it leads; the office's, every unit's. Each event's UID is its deliverable's
(``<plan>:<ref>@duban``): a calendar that subscribes updates the event when its date moves (an extension), and drops
it when the deliverable is signed off.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import quote

from icalendar import Alarm, Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.storage.db import read_session
from responsibilities.storage.model import Deliverable, ObligationRecord, PlanRecord, UnitRecord
from responsibilities.storage.plans import LoadedPlan, loaded_plan
from responsibilities.tracking.calendars import OFFICE_FEED
from responsibilities.vocabulary import STATE_NAMES

SessionFactory = sessionmaker[Session]
MAX_EVENTS = 1000  # a unit has tens; the office's feed keeps the earliest due (the overdue first)
CLOSED = ("accepted", "waived")
ALARM_AT = time(9, 0)  # the reminders' hour, as the morning sweep sends them
SUMMARY_TASK_CHARS = 40


def calendar_feed(session_factory: SessionFactory, *, owner: str, base_url: str, now: datetime) -> bytes:
    """The feed of ``owner`` (a unit id, or ``office``) as iCalendar bytes."""
    with read_session(session_factory) as session:
        rows = session.execute(_open_deliverables(owner)).all()
        owner_name = "督办办公室" if owner == OFFICE_FEED else session.get(UnitRecord, owner).short_name
        plans: dict[str, LoadedPlan | None] = {}
        feed = Calendar()
        feed.add("prodid", "-//duban//督办//ZH")
        feed.add("version", "2.0")
        feed.add("calscale", "GREGORIAN")
        feed.add("method", "PUBLISH")
        feed.add("x-wr-calname", f"督办事项 · {owner_name}")
        feed.add("x-wr-timezone", "Asia/Shanghai")
        for d, task, plan_name, unit_name in rows:
            if d.plan_id not in plans:
                plans[d.plan_id] = loaded_plan(session, d.plan_id)
            feed.add_component(_event(d, task, plan_name, unit_name, plans[d.plan_id], owner, base_url, now))
    return feed.to_ical()


def _open_deliverables(owner: str):
    query = (select(Deliverable, ObligationRecord.task, PlanRecord.short_name, UnitRecord.short_name)
             .join(ObligationRecord, Deliverable.obligation_id == ObligationRecord.id)
             .join(PlanRecord, Deliverable.plan_id == PlanRecord.id)
             .join(UnitRecord, Deliverable.unit_id == UnitRecord.id)
             .where(Deliverable.retired.is_(False), Deliverable.due.is_not(None),
                    Deliverable.state.not_in(CLOSED), PlanRecord.closed_at.is_(None)))
    if owner != OFFICE_FEED:
        query = query.where(Deliverable.unit_id == owner)
    return query.order_by(Deliverable.due, Deliverable.id).limit(MAX_EVENTS)


def _event(d: Deliverable, task: str, plan_name: str, unit_name: str, plan: LoadedPlan | None, owner: str,
           base_url: str, now: datetime) -> Event:
    short = task if len(task) <= SUMMARY_TASK_CHARS else task[:SUMMARY_TASK_CHARS] + "…"
    link = f"{base_url.rstrip('/')}/deliverables/{quote(d.qualified_ref, safe='@:')}"
    event = Event()
    event.add("uid", f"{d.qualified_ref}@duban")
    event.add("dtstamp", now)
    event.add("dtstart", d.due)
    event.add("dtend", d.due + timedelta(days=1))
    event.add("summary", f"【{plan_name}】{short}" if owner != OFFICE_FEED else f"【{unit_name}】{short}")
    event.add("description", "\n".join([task, f"所属方案:{plan_name}", f"责任单位:{unit_name}",
                                        f"状态:{STATE_NAMES.get(d.state, d.state)}", f"查看与报送:{link}"]))
    event.add("url", link)
    event.add("transp", "TRANSPARENT")  # a due date, not a meeting: it does not make anyone busy
    for offset in plan.supervision.reminder_offsets if plan else ():
        event.add_component(_alarm(d.due, plan.calendar.add_working_days(d.due, -offset), short))
    return event


def _alarm(due: date, on: date, short: str) -> Alarm:
    """A reminder on ``on`` at 09:00, as a duration before the all-day event starts (its midnight)."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"督办提醒:{short}(截止 {due.month}月{due.day}日)")
    alarm.add("trigger", datetime.combine(on, ALARM_AT) - datetime.combine(due, time(0, 0)))
    return alarm
