"""Pure rules of the supervision cycle: which deliverables an obligation has, and where one stands today.

No database and no clock: ``today`` is always an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from responsibilities.deadlines.rules import (
    AfterEvent,
    Fixed,
    Ongoing,
    Periodic,
    Staged,
    add_months,
    last_day_of_month,
    periodic_dues,
)
from responsibilities.deadlines.working_days import WorkingCalendar
from responsibilities.plan.model import Obligation, Plan

Light = Literal["green", "yellow", "red", "grey"]
ONCE = "once"


@dataclass(frozen=True)
class Slot:
    """One deliverable an obligation owes: its period key, the period it covers, and its due date."""

    period: str
    due: date
    period_start: date | None = None
    period_end: date | None = None


def period_key(every: str, start: date) -> str:
    """2019-11 (month), 2019-Q4 (quarter), 2019-H2 (half year), 2019 (year)."""
    if every == "month":
        return f"{start.year}-{start.month:02d}"
    if every == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if every == "half_year":
        return f"{start.year}-H{(start.month - 1) // 6 + 1}"
    return str(start.year)


def _periods(rule: Periodic, first: date, last: date) -> list[Slot]:
    step = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}[rule.every]
    slots = []
    for start, due in periodic_dues(rule, first, last):
        end_year, end_month = add_months(start.year, start.month, step)
        slots.append(Slot(period_key(rule.every, start), due, start, date(end_year, end_month, 1) - timedelta(days=1)))
    return slots


def slots_for(obligation: Obligation, plan: Plan) -> list[Slot]:
    """The deliverables the plan itself dates for an obligation.

    After-event and external obligations date nothing here: they wait for the office to record the event
    (``after_event_slot``) or to enter a date. Ongoing duties report on the plan's cadence from publication
    (or the span they state) to the plan's end.
    """
    rule = obligation.deadline
    first = obligation.start or plan.start
    last = obligation.until or plan.end
    if isinstance(rule, Fixed):
        return [Slot(ONCE, rule.due)]
    if isinstance(rule, Periodic):
        return _periods(rule, first, last)
    if isinstance(rule, Ongoing):
        begin = rule.start or obligation.start or plan.published_on
        return _periods(plan.supervision.ongoing_cadence, begin, rule.end or last)
    if isinstance(rule, Staged):
        return [Slot(f"stage-{i}", stage.rule.due) for i, stage in enumerate(rule.stages, 1)
                if isinstance(stage.rule, Fixed)]
    return []


def deliverable_ref(obligation_id: str, period: str) -> str:
    """What people type: hrss-1 for a one-off, monthly-report.guiping@2019-11 for a period."""
    return obligation_id if period == ONCE else f"{obligation_id}@{period}"


def qualified_ref(plan_id: str, ref: str) -> str:
    """A ref with its plan, <plan>:<ref>: it names one deliverable (or obligation) however many plans there are.
    Refs are unique only within their plan."""
    return f"{plan_id}:{ref}"


def after_event_due(rule: AfterEvent, occurred_on: date, calendar: WorkingCalendar) -> date:
    """The due date of an after-event deliverable once the event's date is known."""
    if rule.offset_unit == "working_day":
        return calendar.add_working_days(occurred_on, rule.offset)
    if rule.offset_unit == "month":
        year, month = add_months(occurred_on.year, occurred_on.month, rule.offset)
        # 一个月内 from 31 January is the end of February, not 3 March.
        return date(year, month, min(occurred_on.day, last_day_of_month(year, month)))
    return occurred_on + timedelta(days=rule.offset)


def light(state: str, due: date | None, today: date, *, calendar: WorkingCalendar, due_soon_working_days: int) -> Light:
    """The traffic light of a deliverable on ``today``.

    green: done (accepted, waived) or on track; yellow: due within the reminder window, or submitted and
    waiting for review; red: past due and not handed in; grey: no date yet (waiting for an event or a date).
    """
    if state in ("accepted", "waived"):
        return "green"
    if state == "submitted":
        return "yellow"
    if due is None:
        return "grey"
    if today > due:
        return "red"
    if calendar.working_days_between(today, due) <= due_soon_working_days:
        return "yellow"
    return "green"


def days_overdue(due: date | None, today: date) -> int:
    return max((today - due).days, 0) if due else 0
