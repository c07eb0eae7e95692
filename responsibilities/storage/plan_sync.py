"""`duban load`: bring the database in line with the plan, keeping every deliverable's history.

Idempotent: a second load of the same plan writes nothing. An edited plan updates texts and dates in
place; an obligation (or unit, or period) that left the plan is retired, never deleted, so its history
and audit trail stay. The caller validates the plan first (load_plan), so a bad file writes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.deadlines.rules import AfterEvent, rule_to_json
from responsibilities.plan.deliverables import ONCE, Slot, after_event_due, deliverable_ref, slots_for
from responsibilities.plan.export import to_json
from responsibilities.plan.model import Obligation, Plan
from responsibilities.storage.audit import snapshot, write_audit
from responsibilities.storage.db import serialise
from responsibilities.storage.model import (
    CalendarDay,
    CoUnit,
    Deliverable,
    EventRecord,
    ObligationRecord,
    PersonRecord,
    PlanRecord,
    PlanTargetRecord,
    RegionTargetRecord,
    UnitRecord,
)


@dataclass
class LoadReport:
    """What a load changed, by kind of record: {"deliverables": {"added": 532}, …}."""

    counts: dict[str, Counter] = field(default_factory=dict)

    def count(self, what: str, how: str) -> None:
        self.counts.setdefault(what, Counter())[how] += 1

    @property
    def changed(self) -> bool:
        return any(self.counts.values())

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {what: dict(c) for what, c in self.counts.items()}


def plan_settings(plan: Plan) -> dict[str, Any]:
    """The parts of the plan services need at run time, stored with the plan row."""
    supervision = to_json(plan.supervision)
    supervision["ongoing_cadence"] = rule_to_json(plan.supervision.ongoing_cadence)
    office = plan.leading_group.office
    return {"supervision": supervision, "calendar_years": to_json(plan.calendar_years),
            "office": {"name": office.name, "email": office.email, "unit": office.housed_in},
            "schedules": dict(plan.schedules), "figures": figures_settings(plan)}


def figures_settings(plan: Plan) -> dict[str, Any]:
    """What the monthly figures need at run time: the report's obligation and fields, the minimum shares."""
    reporting = plan.reporting
    return {"obligation": reporting.monthly_report_obligation, "receiver": reporting.monthly_report_receiver,
            "fields": [{"id": f.id, "name": f.name, "part_of": f.part_of} for f in reporting.monthly_report_fields],
            "minimum_shares": [{"category": s.category, "of": s.of, "at_least_percent": s.at_least_percent,
                                "text": s.text} for s in plan.targets.breakdown.minimum_shares],
            "unit_of_measure": plan.targets.unit_of_measure,
            # The regions that owe reports, in the plan's order (the target table's, for the seed plan).
            "regions": [o.lead for o in plan.obligations if o.declared_id == reporting.monthly_report_obligation]}


# The calendar table runs from a little before the plan to well after it: reports on the last period fall
# due after the plan ends, and overdue work keeps being chased until it is done.
CALENDAR_LEAD = timedelta(days=62)
CALENDAR_TAIL_YEARS = 5


def calendar_days(plan: Plan) -> list[tuple[date, bool, int]]:
    """(day, working, cumulative working days) for every day the sweep may need to count."""
    calendar = plan.working_calendar()
    last_year = plan.end.year + CALENDAR_TAIL_YEARS
    while not calendar.knows(last_year):
        last_year -= 1
    day, end, cum, days = plan.start - CALENDAR_LEAD, date(last_year, 12, 31), 0, []
    while day <= end:
        working = calendar.is_working_day(day)
        cum += working
        days.append((day, working, cum))
        day += timedelta(days=1)
    return days


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


class _Sync:
    def __init__(self, session: Session, plan: Plan, now: datetime, actor: str):
        self.session, self.plan, self.now, self.actor = session, plan, now, actor
        self.report = LoadReport()
        self.calendar = plan.working_calendar()

    def upsert(self, model: type, key: str | tuple, values: dict[str, Any], what: str) -> tuple[Any, dict]:
        """Insert or update one row; returns it and {field: (old, new)} for what changed."""
        row = self.session.get(model, key)
        if row is None:
            row = model(**values)
            self.session.add(row)
            self.report.count(what, "added")
            return row, {k: (None, v) for k, v in values.items()}
        changes = {k: (getattr(row, k), v) for k, v in values.items() if getattr(row, k) != v}
        for name, (_, new) in changes.items():
            setattr(row, name, new)
        if changes:
            self.report.count(what, "updated")
        return row, changes

    def audit_changes(self, action: str, changes: dict, **where: Any) -> None:
        if changes:
            write_audit(self.session, now=self.now, actor=self.actor, action=action,
                        before={k: _jsonable(old) for k, (old, _) in changes.items()},
                        after={k: _jsonable(new) for k, (_, new) in changes.items()}, **where)

    def retire_missing(self, model: type, keep: set[str], what: str, **flag: Any) -> None:
        column, value = next(iter(flag.items()))
        for row in self.session.scalars(select(model)):
            if row.id not in keep and not getattr(row, column):
                setattr(row, column, value)
                self.report.count(what, "retired")
                self.audit_changes(f"{what}.retired", {column: (None, value)},
                                   **({"obligation_id": row.id} if model is ObligationRecord
                                      else {"unit_id": getattr(row, "unit_id", row.id)}))

    def run(self) -> LoadReport:
        p = self.plan
        plan_row, changes = self.upsert(PlanRecord, p.id, dict(
            id=p.id, title=p.title, document_number=p.document_number, time_zone=p.time_zone, start=p.start,
            end=p.end, published_on=p.published_on, settings=plan_settings(p)), "plan")
        if changes:
            plan_row.loaded_at = self.now
        for u in p.units:
            _, changes = self.upsert(UnitRecord, u.id, dict(
                id=u.id, name=u.name, short_name=u.short_name, kind=u.kind, aliases=list(u.aliases),
                emails=[c.email for c in u.contacts], retired=False), "units")
            self.audit_changes("unit.loaded", changes, unit_id=u.id)
        self.session.flush()
        self.retire_missing(UnitRecord, {u.id for u in p.units}, "units", retired=True)
        for person in p.leading_group.people:
            self.upsert(PersonRecord, person.id, dict(
                id=person.id, name=person.name, title=person.title, unit_id=person.unit, email=person.email,
                role=person.role, retired=False), "people")
        self.retire_missing(PersonRecord, {x.id for x in p.leading_group.people}, "people", retired=True)
        for event in p.events:
            self.upsert(EventRecord, event.id, dict(id=event.id, name=event.name, text=event.text,
                                                    issued_by=event.issued_by), "events")
        self.session.flush()
        for obligation in p.obligations:
            self.sync_obligation(obligation)
        self.retire_missing(ObligationRecord, {o.id for o in p.obligations}, "obligations", retired_at=self.now)
        for gone in self.session.scalars(select(ObligationRecord).where(ObligationRecord.retired_at.is_not(None))):
            for deliverable in self.session.scalars(select(Deliverable).where(
                    Deliverable.obligation_id == gone.id, Deliverable.retired.is_(False))):
                self.retire(deliverable)
        self.sync_targets()
        self.sync_calendar()
        return self.report

    def sync_calendar(self) -> None:
        stored = {row.day: row for row in self.session.scalars(select(CalendarDay))}
        wanted = calendar_days(self.plan)
        for day, working, cum in wanted:
            row = stored.pop(day, None)
            if row is None:
                self.session.add(CalendarDay(day=day, working=working, cum=cum))
                self.report.count("calendar", "added")
            elif (row.working, row.cum) != (working, cum):
                row.working, row.cum = working, cum
                self.report.count("calendar", "updated")
        for row in stored.values():
            self.session.delete(row)
            self.report.count("calendar", "retired")

    def sync_obligation(self, o: Obligation) -> None:
        row, changes = self.upsert(ObligationRecord, o.id, dict(
            id=o.id, declared_id=o.declared_id, lead_unit_id=o.lead, group_id=o.group, task=o.task, detail=o.detail,
            deadline_text=o.deadline.text, kind=o.kind, rule=rule_to_json(o.deadline), awaits=o.awaits,
            sources=to_json(o.sources), co_unit_ids=list(o.co_units), retired_at=None), "obligations")
        self.audit_changes("obligation.loaded", {k: v for k, v in changes.items() if k != "id"}, obligation_id=o.id,
                           unit_id=o.lead)
        existing_co = {c.unit_id: c for c in self.session.scalars(select(CoUnit).where(CoUnit.obligation_id == o.id))}
        for unit_id in set(o.co_units) - set(existing_co):
            self.session.add(CoUnit(obligation_id=o.id, unit_id=unit_id))
        for unit_id in set(existing_co) - set(o.co_units):
            self.session.delete(existing_co[unit_id])
        self.session.flush()
        self.sync_deliverables(o)

    def slots(self, o: Obligation) -> list[Slot]:
        slots = slots_for(o, self.plan)
        if isinstance(o.deadline, AfterEvent) and o.awaits:
            event = self.session.get(EventRecord, o.awaits)
            if event is not None and event.occurred_on is not None:
                slots.append(Slot(ONCE, after_event_due(o.deadline, event.occurred_on, self.calendar)))
        return slots

    def sync_deliverables(self, o: Obligation) -> None:
        existing = {d.period: d
                    for d in self.session.scalars(select(Deliverable).where(Deliverable.obligation_id == o.id))}
        for slot in self.slots(o):
            deliverable = existing.pop(slot.period, None)
            if deliverable is None:
                self.add_deliverable(o, slot)
            else:
                self.redate(deliverable, o, slot)
        for deliverable in existing.values():
            if not deliverable.retired and not deliverable.set_by_office:
                self.retire(deliverable)

    def add_deliverable(self, o: Obligation, slot: Slot) -> None:
        deliverable = Deliverable(
            ref=deliverable_ref(o.id, slot.period), obligation_id=o.id, unit_id=o.lead, period=slot.period,
            period_start=slot.period_start, period_end=slot.period_end, original_due=slot.due, due=slot.due,
            state="open", updated_at=self.now, updated_by=self.actor)
        self.session.add(deliverable)
        self.report.count("deliverables", "added")
        write_audit(self.session, now=self.now, actor=self.actor, action="deliverable.dated", deliverable=deliverable)

    def redate(self, deliverable: Deliverable, o: Obligation, slot: Slot) -> None:
        before = snapshot(deliverable)
        extended = deliverable.due != deliverable.original_due
        values = dict(unit_id=o.lead, period_start=slot.period_start, period_end=slot.period_end,
                      original_due=slot.due, retired=False)
        if not extended or (deliverable.due is not None and deliverable.due < slot.due):
            values["due"] = slot.due  # a granted extension survives a plan edit unless the plan now allows more
        changes = {k: v for k, v in values.items() if getattr(deliverable, k) != v}
        if not changes:
            return
        for name, value in changes.items():
            setattr(deliverable, name, value)
        deliverable.updated_at, deliverable.updated_by = self.now, self.actor
        self.report.count("deliverables", "redated")
        write_audit(self.session, now=self.now, actor=self.actor, action="deliverable.redated",
                    deliverable=deliverable, before=before)

    def retire(self, deliverable: Deliverable) -> None:
        before = snapshot(deliverable)
        deliverable.retired = True
        deliverable.updated_at, deliverable.updated_by = self.now, self.actor
        self.report.count("deliverables", "retired")
        write_audit(self.session, now=self.now, actor=self.actor, action="deliverable.retired",
                    deliverable=deliverable, before=before)

    def sync_targets(self) -> None:
        breakdown = self.plan.targets.breakdown
        for row in breakdown.regions:
            for year, value in row.by_year.items():
                self.upsert(RegionTargetRecord, (row.region, year),
                            dict(region_unit_id=row.region, year=year, value=value), "targets")
        for t in self.plan.targets.plan_wide:
            self.upsert(PlanTargetRecord, t.id, dict(id=t.id, name=t.name, value=t.value,
                                                     unit_of_measure=t.unit_of_measure, year=t.year, part_of=t.part_of,
                                                     by=t.by), "targets")


def sync_plan(session_factory: sessionmaker[Session], plan: Plan, *, now: datetime,
              actor: str = "system") -> LoadReport:
    """Load or reload ``plan`` in one transaction; returns what changed (nothing, the second time). Two loads at
    once run one after the other (on PostgreSQL too), so the second finds the first's rows rather than a conflict."""
    with session_factory.begin() as session:
        serialise(session, "plan")
        return _Sync(session, plan, now, actor).run()
