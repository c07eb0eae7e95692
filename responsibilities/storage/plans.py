"""The loaded plan, as typed data: what every reader of the plan row needs at run time (its dates and time zone, its
supervision rules, its working-day calendar, its schedules, its office, its monthly figures' settings).

``duban load`` stores these in the plan row (``plans.settings``, JSON; see ``plan_sync.plan_settings``); this module
is the one place that reads them back. A plan's zone decides what "today" is for it: ``LoadedPlan.today(now)``.
Several plans can be stored. Without an id, ``loaded_plan`` returns the office's first plan (the earliest published
plan loaded from a file): the office-wide settings (the time zone of "today", the due-soon window of the lights, the
office's address) are its. Each plan's own rules (reminders, chases, escalation) apply to its own items.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.deadlines.working_days import WorkingCalendar, YearOverride
from responsibilities.errors import NotFound
from responsibilities.limits import is_clean_key
from responsibilities.plan.model import EscalationStep, MinimumShare, ReportField
from responsibilities.storage.db import read_session
from responsibilities.storage.model import PlanRecord

NOT_LOADED = "尚未载入工作方案:请先运行 `duban load deadlines.yaml`"


@dataclass(frozen=True)
class SupervisionRules:
    """When reminders, chases and escalations are owed (the plan's ``supervision`` block)."""

    reminder_offsets: tuple[int, ...]  # working days before the due date, largest first
    chase_first: int  # working days overdue before the first chase
    chase_every: int  # working days between chases
    escalation: tuple[EscalationStep, ...]  # lowest level first
    awaiting_grace: int  # working days after publication before the office is told an event or date is missing

    @property
    def due_soon_working_days(self) -> int:
        """A deliverable is due soon (yellow) from the first reminder on."""
        return self.reminder_offsets[0]


@dataclass(frozen=True)
class Office:
    """The leading group's office (办公室): its name, its address, and the unit that houses it."""

    name: str
    email: str
    unit: str | None


@dataclass(frozen=True)
class FiguresSettings:
    """What the monthly figures (月报) need at run time."""

    plan: str  # the plan whose monthly report it is
    obligation: str  # the declared id of the monthly-report obligation
    receiver: str  # the unit that receives the reports
    fields: tuple[ReportField, ...]
    minimum_shares: tuple[MinimumShare, ...]
    unit_of_measure: str
    regions: tuple[str, ...]  # the regions that owe reports, in the plan's order


STANDING = "standing"  # the kind of a year's plan of items the office assigns by hand (交办事项)


@dataclass(frozen=True)
class LoadedPlan:
    id: str
    title: str
    short_name: str
    kind: str  # plan | standing
    closed: bool
    document_number: str
    time_zone: ZoneInfo
    start: date
    end: date
    published_on: date
    supervision: SupervisionRules
    calendar: WorkingCalendar
    schedules: Mapping[str, str]
    office: Office
    figures: FiguresSettings | None

    def today(self, now: datetime) -> date:
        """The calendar day ``now`` falls on where the plan is carried out: deadlines are local dates."""
        if now.tzinfo is None:
            raise ValueError("`now` must be an aware datetime: a naive one would be read in the machine's zone")
        return now.astimezone(self.time_zone).date()

    def soon_before(self, today: date) -> date:
        """The first day that is not yet due soon, seen from ``today``."""
        return self.calendar.add_working_days(today, self.supervision.due_soon_working_days + 1)


# The office's first plan: a plan loaded from a file before a standing one, the earliest published first.
PRIMARY_ORDER = ((PlanRecord.kind == STANDING), PlanRecord.published_on, PlanRecord.id)


def loaded_plan(session: Session, plan_id: str | None = None) -> LoadedPlan | None:
    """The plan ``plan_id`` (or the office's first plan), or None before any plan is loaded."""
    query = select(PlanRecord) if plan_id is None else select(PlanRecord).where(PlanRecord.id == plan_id)
    # LIMIT 1: without it the ORM builds every plan's row (its settings JSON parsed) to return the first.
    record = session.scalars(query.order_by(*PRIMARY_ORDER).limit(1)).first()
    return _typed(record) if record is not None else None


def open_plans(session: Session) -> list[LoadedPlan]:
    """Every plan not closed, the office's first plan first."""
    return [_typed(r) for r in session.scalars(select(PlanRecord).where(PlanRecord.closed_at.is_(None))
                                               .order_by(*PRIMARY_ORDER))]



def no_such_plan(plan_id: str) -> NotFound:
    """The refusal of a plan id that names no plan (the id cut short: it may be anything a person typed)."""
    return NotFound(f"没有编号为“{plan_id[:64]}”的工作方案:`duban plan list` 可列出全部方案")


def require_plan(session: Session, plan_id: str | None = None) -> LoadedPlan:
    plan = loaded_plan(session, plan_id) if plan_id is None or is_clean_key(plan_id) else None
    if plan is None:
        raise NotFound(NOT_LOADED) if plan_id is None else no_such_plan(plan_id)
    return plan


def read_plan(session_factory: sessionmaker[Session], plan_id: str | None = None) -> LoadedPlan:
    """``require_plan`` in a read-only session of its own."""
    with read_session(session_factory) as session:
        return require_plan(session, plan_id)


def declared_years(settings: Mapping[str, Any]) -> list[YearOverride]:
    """The calendar years a stored plan declares itself."""
    return [YearOverride(y["year"], frozenset(date.fromisoformat(d) for d in y["holidays"]),
                         frozenset(date.fromisoformat(d) for d in y["workdays"]))
            for y in settings.get("calendar_years", [])]


def calendar_from_settings(settings: Mapping[str, Any]) -> WorkingCalendar:
    """The working-day calendar: China's, with the years the plan declares itself."""
    return WorkingCalendar(declared_years(settings))


def _typed(record: PlanRecord) -> LoadedPlan:
    settings = record.settings or {}
    office = settings.get("office") or {}
    return LoadedPlan(
        id=record.id, title=record.title, short_name=record.short_name or record.title[:32],
        kind=record.kind or "plan", closed=record.closed_at is not None, document_number=record.document_number,
        time_zone=ZoneInfo(record.time_zone), start=record.start, end=record.end, published_on=record.published_on,
        supervision=_supervision(settings["supervision"]), calendar=calendar_from_settings(settings),
        schedules=MappingProxyType(dict(settings.get("schedules") or {})),
        office=Office(office.get("name") or "", office.get("email") or "", office.get("unit")),
        figures=_figures(settings.get("figures"), record.id))


def _supervision(s: Mapping[str, Any]) -> SupervisionRules:
    steps = sorted((EscalationStep(e["level"], e["after_working_days"], tuple(e["to"])) for e in s["escalation"]),
                   key=lambda step: step.level)
    return SupervisionRules(tuple(sorted(s["reminder_working_days_before"], reverse=True)),
                            s["chase_first_after_working_days"], s["chase_repeat_every_working_days"], tuple(steps),
                            s["awaiting_grace_working_days"])


def _figures(f: Mapping[str, Any] | None, plan_id: str) -> FiguresSettings | None:
    if not f or not f.get("fields"):
        return None
    return FiguresSettings(
        plan=plan_id, obligation=f["obligation"], receiver=f.get("receiver") or "",
        fields=tuple(ReportField(x["id"], x["name"], x.get("part_of")) for x in f["fields"]),
        minimum_shares=tuple(MinimumShare(m["category"], m["of"], m["at_least_percent"], m.get("text", ""))
                             for m in f.get("minimum_shares") or []),
        unit_of_measure=f.get("unit_of_measure") or "人次", regions=tuple(f.get("regions") or ()))
