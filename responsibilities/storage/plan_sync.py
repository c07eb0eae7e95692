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
from responsibilities.deadlines.working_days import WorkingCalendar, YearOverride
from responsibilities.errors import InvalidInput
from responsibilities.plan.deliverables import ONCE, Slot, after_event_due, deliverable_ref, qualified_ref, slots_for
from responsibilities.plan.export import to_json
from responsibilities.plan.model import Obligation, Plan, Unit
from responsibilities.storage.audit import snapshot, write_audit
from responsibilities.storage.db import serialise
from responsibilities.storage.model import (
    CalendarDay,
    CoUnit,
    Deliverable,
    EventRecord,
    ObligationRecord,
    PersonRecord,
    PlanPerson,
    PlanRecord,
    PlanTargetRecord,
    RegionTargetRecord,
    UnitPlan,
    UnitRecord,
)
from responsibilities.storage.plans import PRIMARY_ORDER, declared_years


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


def plan_settings(plan: Plan, office: dict[str, Any] | None = None) -> dict[str, Any]:
    """The parts of the plan services need at run time, stored with the plan row. ``office``: the office that
    supervises a plan without a leading group of its own (the office-wide one, of the office's first plan)."""
    supervision = to_json(plan.supervision)
    supervision["ongoing_cadence"] = rule_to_json(plan.supervision.ongoing_cadence)
    if plan.leading_group is not None:
        own = plan.leading_group.office
        office = {"name": own.name, "email": own.email, "unit": own.housed_in}
    if office is None:
        raise PlanConflict([f"plan {plan.id} has no leading_group, and no other plan's office can supervise it: "
                            "load a plan with a leading group (and its office) first"])
    return {"supervision": supervision, "calendar_years": to_json(plan.calendar_years), "office": office,
            "schedules": dict(plan.schedules), "figures": figures_settings(plan),
            # The plan's groups (各县(市、区)人民政府): the directory a document being imported is read against.
            "groups": [{"id": g.id, "name": g.name, "aliases": list(g.aliases), "members": list(g.members)}
                       for g in plan.groups]}


def figures_settings(plan: Plan) -> dict[str, Any] | None:
    """What the monthly figures need at run time: the report's obligation and fields, the minimum shares (None for a
    plan without numbers)."""
    reporting = plan.reporting
    if reporting is None or plan.targets is None:
        return None
    return {"obligation": reporting.monthly_report_obligation, "receiver": reporting.monthly_report_receiver,
            "fields": [{"id": f.id, "name": f.name, "part_of": f.part_of} for f in reporting.monthly_report_fields],
            "minimum_shares": [{"category": s.category, "of": s.of, "at_least_percent": s.at_least_percent,
                                "text": s.text} for s in plan.targets.breakdown.minimum_shares],
            "unit_of_measure": plan.targets.unit_of_measure,
            # The regions that owe reports, in the plan's order (the target table's, for the seed plan).
            "regions": [o.lead for o in plan.obligations if o.declared_id == reporting.monthly_report_obligation]}


# The calendar table runs from a little before the first plan to well after the last: reports on the last period
# fall due after a plan ends, and overdue work keeps being chased until it is done.
CALENDAR_LEAD = timedelta(days=62)
CALENDAR_TAIL_YEARS = 5


def calendar_days(calendar: WorkingCalendar, first: date, last: date) -> list[tuple[date, bool, int]]:
    """(day, working, cumulative working days) for every day the sweep may need to count, for plans running from
    ``first`` to ``last``."""
    last_year = last.year + CALENDAR_TAIL_YEARS
    while not calendar.knows(last_year):
        last_year -= 1
    day, end, cum, days = first - CALENDAR_LEAD, date(last_year, 12, 31), 0, []
    while day <= end:
        working = calendar.is_working_day(day)
        cum += working
        days.append((day, working, cum))
        day += timedelta(days=1)
    return days


def office_calendar(session: Session, extra: Plan | None = None) -> tuple[WorkingCalendar, date, date]:
    """The office's one working-day calendar: China's, with the years every stored plan (and ``extra``, being
    loaded) declares, over the span of all of them. Two plans declaring one year differently is a problem."""
    declared: dict[int, tuple[Any, str]] = {}
    spans: list[tuple[date, date]] = []
    problems: list[str] = []

    def take(plan_id: str, years: Any, start: date, end: date) -> None:
        spans.append((start, end))
        for year in years:
            key = (year.holidays, year.workdays)
            seen = declared.setdefault(year.year, (key, plan_id))
            if seen[0] != key:
                problems.append(f"calendar.years[{year.year}]: declared differently by plan {seen[1]}")

    for record in session.scalars(select(PlanRecord).order_by(PlanRecord.id)):
        if extra is None or record.id != extra.id:
            take(record.id, declared_years(record.settings), record.start, record.end)
    if extra is not None:
        take(extra.id, extra.calendar_years, extra.start, extra.end)
    if problems:
        raise PlanConflict(problems)
    calendar = WorkingCalendar([YearOverride(y, *key) for y, (key, _) in sorted(declared.items())])
    return calendar, min(s for s, _ in spans), max(e for _, e in spans)


def sync_calendar(session: Session, report: LoadReport, extra: Plan | None = None) -> None:
    """Bring ``calendar_days`` in line with the office's calendar (see ``office_calendar``)."""
    calendar, first, last = office_calendar(session, extra)
    stored = {row.day: row for row in session.scalars(select(CalendarDay))}
    for day, working, cum in calendar_days(calendar, first, last):
        row = stored.pop(day, None)
        if row is None:
            session.add(CalendarDay(day=day, working=working, cum=cum))
            report.count("calendar", "added")
        elif (row.working, row.cum) != (working, cum):
            row.working, row.cum = working, cum
            report.count("calendar", "updated")
    for row in stored.values():
        session.delete(row)
        report.count("calendar", "retired")


class PlanConflict(InvalidInput):
    """The plan disagrees with what other plans of the database say (a unit, a person, a calendar year)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("与已载入的其他方案冲突,未作任何更改:\n" + "\n".join(f"  {p}" for p in problems))


def obligation_key(plan_id: str, ref: str) -> str:
    """The key a new obligation is stored under (its qualified ref); see ``ObligationRecord``."""
    return qualified_ref(plan_id, ref)


def unit_definition(unit: Unit) -> dict[str, Any]:
    """A plan's definition of a unit, as ``unit_plans`` keeps it."""
    leader = unit.leader
    return {"name": unit.name, "short_name": unit.short_name, "kind": unit.kind, "aliases": list(unit.aliases),
            "emails": [c.email for c in unit.contacts],
            "leader": {"name": leader.name, "title": leader.title, "email": leader.email} if leader else None}


# What must agree between two plans naming one unit; aliases and addresses add up, the short name is the first's.
UNIT_IDENTITY = ("name", "kind")


def _union(lists: Any) -> list[Any]:
    return list(dict.fromkeys(x for items in lists for x in items))


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

    def office_elsewhere(self) -> dict[str, Any] | None:
        """The office of the office's first plan (other than this one), for a plan without a leading group."""
        if self.plan.leading_group is not None:
            return None
        settings = self.session.scalars(select(PlanRecord.settings).where(PlanRecord.id != self.plan.id)
                                        .order_by(*PRIMARY_ORDER).limit(1)).first()
        return (settings or {}).get("office")

    def run(self) -> LoadReport:
        p = self.plan
        self.check_directory()
        plan_row, changes = self.upsert(PlanRecord, p.id, dict(
            id=p.id, title=p.title, short_name=p.display_name, document_number=p.document_number,
            issuer=p.issuer or None, time_zone=p.time_zone, start=p.start, end=p.end, published_on=p.published_on,
            settings=plan_settings(p, self.office_elsewhere())), "plan")
        if changes:
            plan_row.loaded_at = self.now
        if plan_row.kind is None:
            plan_row.kind = "plan"
        self.session.flush()
        self.sync_units()
        self.sync_people()
        for event in p.events:
            self.upsert(EventRecord, event.id, dict(id=event.id, name=event.name, text=event.text,
                                                    issued_by=event.issued_by), "events")
        self.session.flush()
        stored = {o.ref: o for o in self.session.scalars(select(ObligationRecord)
                                                          .where(ObligationRecord.plan_id == p.id))}
        for obligation in p.obligations:
            self.sync_obligation(obligation, stored.pop(obligation.id, None))
        for gone in stored.values():
            if gone.retired_at is None:
                gone.retired_at = self.now
                self.report.count("obligations", "retired")
                self.audit_changes("obligations.retired", {"retired_at": (None, self.now)}, obligation_id=gone.id)
            for deliverable in self.session.scalars(select(Deliverable).where(
                    Deliverable.obligation_id == gone.id, Deliverable.retired.is_(False))):
                self.retire(deliverable)
        self.sync_targets()
        sync_calendar(self.session, self.report, p)
        return self.report

    # ── the office's directory ──

    def check_directory(self) -> None:
        """Refuse, before writing anything, a unit or person this plan defines otherwise than another plan does."""
        problems: list[str] = []
        others = select(UnitPlan).where(UnitPlan.plan_id != self.plan.id, UnitPlan.unit_id.in_(
            [u.id for u in self.plan.units]))
        directory = {u.id: u for u in self.session.scalars(select(UnitRecord).where(
            UnitRecord.id.in_([u.id for u in self.plan.units])))}
        named_elsewhere = {}
        for link in self.session.scalars(others.order_by(UnitPlan.plan_id)):
            named_elsewhere.setdefault(link.unit_id, link)
        for unit in self.plan.units:
            link = named_elsewhere.get(unit.id)
            if link is None:
                continue
            theirs = link.definition or {"name": directory[unit.id].name, "kind": directory[unit.id].kind}
            ours = unit_definition(unit)
            for what in UNIT_IDENTITY:
                if theirs.get(what) != ours[what]:
                    problems.append(f'units[{unit.id}].{what}: "{ours[what]}" here, but plan {link.plan_id} '
                                    f'defines unit {unit.id} as "{theirs.get(what)}"')
        group_people = self.plan.leading_group.people if self.plan.leading_group else ()
        people = {x.id: x for x in self.session.scalars(select(PersonRecord).where(
            PersonRecord.id.in_([x.id for x in group_people])))}
        in_other_groups = set(self.session.scalars(select(PlanPerson.person_id).where(
            PlanPerson.plan_id != self.plan.id, PlanPerson.person_id.in_(list(people)))))
        for person in group_people:
            stored = people.get(person.id)
            if stored is not None and person.id in in_other_groups and stored.name != person.name:
                problems.append(f'leading_group: person {person.id} is "{person.name}" here, but "{stored.name}" '
                                "in another plan's leading group")
        if problems:
            raise PlanConflict(problems)

    def sync_units(self) -> None:
        p = self.plan
        links = {link.unit_id: link for link in self.session.scalars(select(UnitPlan).where(UnitPlan.plan_id == p.id))}
        for u in p.units:
            definition = unit_definition(u)
            link = links.pop(u.id, None)
            new = False
            if link is None:
                if self.session.get(UnitRecord, u.id) is None:
                    new = True
                    self.session.add(UnitRecord(id=u.id, name=u.name, short_name=u.short_name, kind=u.kind,
                                                aliases=[], emails=[], retired=False))
                    self.report.count("units", "added")
                    self.session.flush()
                self.session.add(UnitPlan(plan_id=p.id, unit_id=u.id, definition=definition))
            elif link.definition != definition:
                link.definition = definition
            self.session.flush()
            self.merge_unit(u.id, new=new)
        for link in links.values():  # units this plan no longer names: kept while another plan names them
            self.session.delete(link)
            self.session.flush()
            self.merge_unit(link.unit_id)

    def merge_unit(self, unit_id: str, *, new: bool = False) -> None:
        """The directory's row for a unit: every plan's definition of it, the earliest plan's first."""
        row = self.session.get(UnitRecord, unit_id)
        definitions = list(self.session.scalars(
            select(UnitPlan.definition).join(PlanRecord, PlanRecord.id == UnitPlan.plan_id)
            .where(UnitPlan.unit_id == unit_id).order_by(PlanRecord.published_on, PlanRecord.id)))
        if not definitions:
            if not row.retired:
                row.retired = True
                self.report.count("units", "retired")
                self.audit_changes("units.retired", {"retired": (False, True)}, unit_id=unit_id)
            return
        known = [d for d in definitions if d is not None] or [None]
        first = known[0] or {"name": row.name, "short_name": row.short_name, "kind": row.kind, "leader": row.leader}
        values = dict(name=first["name"], short_name=first["short_name"], kind=first["kind"],
                      aliases=_union(d["aliases"] for d in known if d), emails=_union(d["emails"] for d in known if d),
                      leader=next((d["leader"] for d in known if d and d["leader"]), None), retired=False)
        if None in definitions:  # a plan stored before the directory: its aliases and addresses are the row's
            values["aliases"] = _union([row.aliases, values["aliases"]])
            values["emails"] = _union([row.emails, values["emails"]])
        changes = {k: (getattr(row, k), v) for k, v in values.items() if getattr(row, k) != v}
        for name, (_, value) in changes.items():
            setattr(row, name, value)
        if changes and not new:
            self.report.count("units", "updated")
        self.audit_changes("unit.loaded", changes, unit_id=unit_id)

    def sync_people(self) -> None:
        p = self.plan
        members = {m.person_id: m for m in self.session.scalars(select(PlanPerson).where(PlanPerson.plan_id == p.id))}
        for person in p.leading_group.people if p.leading_group else ():
            self.upsert(PersonRecord, person.id, dict(id=person.id, name=person.name, title=person.title,
                                                       unit_id=person.unit, email=person.email, retired=False),
                        "people")
            self.session.flush()
            member = members.pop(person.id, None)
            if member is None:
                self.session.add(PlanPerson(plan_id=p.id, person_id=person.id, role=person.role))
            elif member.role != person.role:
                member.role = person.role
        for member in members.values():
            self.session.delete(member)
            self.session.flush()
            if self.session.scalar(select(PlanPerson.plan_id).where(PlanPerson.person_id == member.person_id)
                                   .limit(1)) is None:
                self.session.get(PersonRecord, member.person_id).retired = True
                self.report.count("people", "retired")

    def sync_obligation(self, o: Obligation, row: ObligationRecord | None) -> None:
        key = row.id if row is not None else obligation_key(self.plan.id, o.id)
        row, changes = self.upsert(ObligationRecord, key, dict(
            id=key, plan_id=self.plan.id, ref=o.id, declared_id=o.declared_id, lead_unit_id=o.lead, group_id=o.group,
            task=o.task, detail=o.detail,
            deadline_text=o.deadline.text, kind=o.kind, rule=rule_to_json(o.deadline), awaits=o.awaits,
            sources=to_json(o.sources), co_unit_ids=list(o.co_units), retired_at=None), "obligations")
        self.audit_changes("obligation.loaded", {k: v for k, v in changes.items() if k != "id"}, obligation_id=key,
                           unit_id=o.lead)
        existing_co = {c.unit_id: c for c in self.session.scalars(select(CoUnit).where(CoUnit.obligation_id == key))}
        for unit_id in set(o.co_units) - set(existing_co):
            self.session.add(CoUnit(obligation_id=key, unit_id=unit_id))
        for unit_id in set(existing_co) - set(o.co_units):
            self.session.delete(existing_co[unit_id])
        self.session.flush()
        self.sync_deliverables(o, key)

    def slots(self, o: Obligation) -> list[Slot]:
        slots = slots_for(o, self.plan)
        if isinstance(o.deadline, AfterEvent) and o.awaits:
            event = self.session.get(EventRecord, o.awaits)
            if event is not None and event.occurred_on is not None:
                slots.append(Slot(ONCE, after_event_due(o.deadline, event.occurred_on, self.calendar)))
        return slots

    def sync_deliverables(self, o: Obligation, key: str) -> None:
        existing = {d.period: d
                    for d in self.session.scalars(select(Deliverable).where(Deliverable.obligation_id == key))}
        for slot in self.slots(o):
            deliverable = existing.pop(slot.period, None)
            if deliverable is None:
                self.add_deliverable(o, key, slot)
            else:
                self.redate(deliverable, o, slot)
        for deliverable in existing.values():
            if not deliverable.retired and not deliverable.set_by_office:
                self.retire(deliverable)

    def add_deliverable(self, o: Obligation, key: str, slot: Slot) -> None:
        ref = deliverable_ref(o.id, slot.period)
        deliverable = Deliverable(
            ref=ref, plan_id=self.plan.id, qualified_ref=qualified_ref(self.plan.id, ref), obligation_id=key,
            unit_id=o.lead, period=slot.period, period_start=slot.period_start, period_end=slot.period_end,
            original_due=slot.due, due=slot.due, state="open", updated_at=self.now, updated_by=self.actor)
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
        if self.plan.targets is None:
            return
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
        return sync_in_session(session, plan, now=now, actor=actor)


def sync_in_session(session: Session, plan: Plan, *, now: datetime, actor: str = "system") -> LoadReport:
    """``sync_plan`` inside the caller's transaction (which has taken the "plan" lock)."""
    return _Sync(session, plan, now, actor).run()
