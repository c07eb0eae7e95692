"""The work plan (工作方案) as typed, immutable data: what `deadlines.yaml` says, validated.

Built only by ``responsibilities.plan.loader.load_plan``; everything downstream (storage, the sweep, reports)
reads these objects and never the YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from types import MappingProxyType
from typing import Literal, Mapping

from responsibilities.deadlines.rules import DeadlineRule, Periodic
from responsibilities.deadlines.working_days import WorkingCalendar, YearOverride

# The lengths the database keeps (responsibilities/storage/model.py): the plan's ids are checked against them when the
# plan is read, so that a long one is a problem with its line number, never a database error at load. An
# obligation's id is kept short enough to take ".<unit id>" (group assignments) and "@<period>" (a deliverable).
ID_LENGTH = 64
OBLIGATION_ID_LENGTH = 60
SHORT_NAME_LENGTH = 32
# A plan's id names it in keys (<plan>:<ref>), addresses and the command line: plain ASCII, no separators.
PLAN_ID_PATTERN = r"[a-z0-9][a-z0-9-]*"
UNIT_OF_MEASURE_LENGTH = 16

def plan_name(title: str) -> str:
    """贵港市职业技能提升行动 for 贵港市职业技能提升行动工作方案(2019—2021年): the title without 工作方案 and its
    span, as summaries are titled and short names are made."""
    name = re.sub(r"[((][^()()]*[))]\s*$", "", title).strip()
    return re.sub(r"(工作|实施)?方案$", "", name).strip() or title


UnitKind = Literal["government", "county_government", "region", "department", "mass_organization", "external"]
UNIT_KINDS: tuple[str, ...] = ("government", "county_government", "region", "department", "mass_organization",
                               "external")
LadderRung = Literal["unit-member", "office", "deputies", "leader"]
LADDER_RUNGS: tuple[str, ...] = ("unit-member", "office", "deputies", "leader")
# When the embedded scheduler runs each flow (cron: minute hour day month weekday, in the plan's zone). The
# flows themselves skip days off and catch up from the data, so plain daily schedules are enough.
DEFAULT_SCHEDULES: dict[str, str] = {
    "sweep": "0 8 * * *",       # every morning: reminders, chases, escalations owed today
    "deliver": "* * * * *",     # every minute: send what is pending
    "digests": "30 8 * * *",    # every morning: the office's daily digest; the weekly ones on the week's first
                                # working day
    "year_end": "0 18 31 12 *",  # the bulletin date, 31 December: the year-end compliance summary
}


@dataclass(frozen=True)
class Span:
    start: date
    end: date


@dataclass(frozen=True)
class Phase:
    id: str
    name: str
    text: str
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Contact:
    role: str
    email: str


@dataclass(frozen=True)
class InCharge:
    """The leader in charge of a unit (分管领导)."""

    name: str
    title: str
    email: str


@dataclass(frozen=True)
class Unit:
    """A responsible unit (责任单位): a department, county government or other body."""

    id: str
    name: str
    aliases: tuple[str, ...]
    kind: UnitKind
    contacts: tuple[Contact, ...]
    leader: InCharge | None = None  # 分管领导: escalations about items without a leading group go to this person

    @property
    def short_name(self) -> str:
        """The name the document mostly uses (市人力资源社会保障局, 桂平市): the first alias."""
        return self.aliases[0] if self.aliases else self.name


@dataclass(frozen=True)
class Group:
    """A name that stands for several units (各县(市、区)人民政府)."""

    id: str
    name: str
    aliases: tuple[str, ...]
    members: tuple[str, ...]


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    title: str
    unit: str  # the unit this person speaks for in the leading group
    email: str
    role: Literal["leader", "deputy", "member"]


@dataclass(frozen=True)
class Office:
    """The leading group's office (领导小组办公室): reviews, signs off, records events."""

    name: str
    housed_in: str
    director: str
    duty: str
    email: str


@dataclass(frozen=True)
class LeadingGroup:
    name: str
    within: str | None
    leader: Person
    deputies: tuple[Person, ...]
    members: tuple[Person, ...]
    office: Office

    @property
    def people(self) -> tuple[Person, ...]:
        return (self.leader, *self.deputies, *self.members)

    def member_for(self, unit_id: str) -> Person | None:
        """The member who speaks for the unit: the first rung of its escalation ladder."""
        return next((p for p in self.members if p.unit == unit_id), None)


@dataclass(frozen=True)
class Event:
    """An outside event that after-event obligations wait for (自治区相关文件下发)."""

    id: str
    name: str
    text: str
    issued_by: str


@dataclass(frozen=True)
class Source:
    """Where a person finds the duty in the document."""

    section: str
    unit: str | None = None  # the table's unit cell, as printed
    item: int | None = None
    quote: str | None = None
    deadline_text: str | None = None  # the deadline as written there, when it differs

    def cite(self) -> str:
        parts = [self.section]
        if self.unit:
            parts.append(self.unit)
        if self.item is not None:
            parts.append(f"第{self.item}项")
        return " · ".join(parts)


@dataclass(frozen=True)
class Obligation:
    """Something a lead unit must deliver (工作任务), with the rule that dates its deliverables."""

    id: str
    lead: str
    co_units: tuple[str, ...]
    task: str
    deadline: DeadlineRule
    sources: tuple[Source, ...]
    detail: str | None = None
    awaits: str | None = None  # event id, for after-event deadlines
    start: date | None = None  # deliverables are dated from here (default: the plan's start)
    until: date | None = None  # … up to here (default: the plan's end)
    targets: tuple[str, ...] = ()
    report_to: tuple[str, ...] = ()
    group: str | None = None  # the group this obligation was assigned to, when it was
    declared_id: str = ""  # the id in deadlines.yaml (differs from `id` for group assignments)

    @property
    def kind(self) -> str:
        return self.deadline.kind


@dataclass(frozen=True)
class RegionTarget:
    region: str
    total: int
    by_year: Mapping[int, int]


@dataclass(frozen=True)
class MinimumShare:
    category: str
    of: str
    at_least_percent: float
    text: str


@dataclass(frozen=True)
class Breakdown:
    """目标分解表: region × year, with its totals row."""

    source: str
    years: tuple[int, ...]
    regions: tuple[RegionTarget, ...]
    totals: RegionTarget
    minimum_shares: tuple[MinimumShare, ...]


@dataclass(frozen=True)
class PlanTarget:
    id: str
    name: str
    value: int
    text: str
    unit_of_measure: str
    by: date | None = None
    year: int | None = None
    part_of: str | None = None


@dataclass(frozen=True)
class Ratio:
    id: str
    name: str
    at_least_percent: float
    by: date
    text: str


@dataclass(frozen=True)
class Standard:
    id: str
    text: str
    section: str


@dataclass(frozen=True)
class Targets:
    unit_of_measure: str
    breakdown: Breakdown
    plan_wide: tuple[PlanTarget, ...]
    ratios: tuple[Ratio, ...]
    standards: tuple[Standard, ...]


@dataclass(frozen=True)
class ReportField:
    id: str
    name: str
    part_of: str | None


@dataclass(frozen=True)
class Reporting:
    monthly_report_obligation: str
    monthly_report_receiver: str
    monthly_report_text: str
    monthly_report_fields: tuple[ReportField, ...]
    bulletin_obligation: str
    bulletin_text: str
    final_summary_obligation: str
    final_summary_text: str


@dataclass(frozen=True)
class EscalationStep:
    level: int
    after_working_days: int
    to: tuple[LadderRung, ...]


@dataclass(frozen=True)
class Supervision:
    ongoing_cadence: Periodic
    reminder_working_days_before: tuple[int, ...]
    chase_first_after_working_days: int
    chase_repeat_every_working_days: int
    escalation: tuple[EscalationStep, ...]
    awaiting_grace_working_days: int


@dataclass(frozen=True)
class Plan:
    id: str
    title: str
    notice_title: str
    document_number: str
    issuer: str  # a unit id; "" when the plan file names none
    drafted_by: str
    addressees: str
    written_on: date
    published_on: date
    basis: tuple[str, ...]
    time_zone: str
    start: date
    end: date
    phases: tuple[Phase, ...]
    units: tuple[Unit, ...]
    groups: tuple[Group, ...]
    leading_group: LeadingGroup | None  # None: escalations go to each unit's leader in charge, then the office
    events: tuple[Event, ...]
    obligations: tuple[Obligation, ...]
    targets: Targets | None  # None (with reporting): a plan without numbers
    reporting: Reporting | None
    supervision: Supervision
    calendar_years: tuple[YearOverride, ...] = ()
    schedules: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(dict(DEFAULT_SCHEDULES)))
    short_name: str = ""  # what lists and tags show; the title's start when the file gives none

    @property
    def display_name(self) -> str:
        return self.short_name or self.title[:SHORT_NAME_LENGTH]

    @cached_property
    def _units_by_id(self) -> Mapping[str, Unit]:
        return MappingProxyType({u.id: u for u in self.units})

    def unit(self, unit_id: str) -> Unit:
        return self._units_by_id[unit_id]

    def obligations_of(self, unit_id: str) -> tuple[Obligation, ...]:
        """Obligations the unit leads."""
        return tuple(o for o in self.obligations if o.lead == unit_id)

    def working_calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.calendar_years)
