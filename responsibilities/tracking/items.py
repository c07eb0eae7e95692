"""Items the office assigns by hand (交办事项): a leader's instruction, a meeting's decision, a letter.

Each item is an obligation of the year's standing plan (“2020年交办事项”, id ``assigned-2020``), created on first use,
so that it goes through the same cycle as a plan's: reminders, chases, escalation, submission, review, the audit
trail. A standing plan has no leading group: escalations go to the unit's leader in charge (分管领导, from the
office's unit directory), then to the office. Only the office assigns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.deadlines.rules import rule_to_json
from responsibilities.errors import InvalidInput, NotFound
from responsibilities.limits import MAX_TEXT, checked_text, is_clean_key, required_text
from responsibilities.plan.deliverables import deliverable_ref, qualified_ref
from responsibilities.plan.items import ItemDeadlineInvalid, Reading, read_item_deadline
from responsibilities.storage.audit import write_audit
from responsibilities.storage.db import read_session, serialise
from responsibilities.storage.model import CoUnit, Deliverable, ObligationRecord, PlanRecord, UnitPlan, UnitRecord
from responsibilities.storage.plan_sync import LoadReport, obligation_key, sync_calendar
from responsibilities.storage.plans import STANDING, require_plan
from responsibilities.tracking.access import acting_user, require_office

SessionFactory = sessionmaker[Session]
MAX_CO_UNITS = 30
MAX_SOURCE = 500  # where an item comes from: 市长办公会议纪要〔2020〕5号 第三项, a leader's instruction's gist


@dataclass(frozen=True)
class ItemRequest:
    """What the office types for an item (every field as typed; checked by ``check``)."""

    lead: str
    task: str
    deadline: str
    co_units: Sequence[str] = ()
    source: str | None = None
    repeat: str | None = None


@dataclass(frozen=True)
class CheckedItem:
    lead: str  # unit ids
    co_units: tuple[str, ...]
    task: str
    source: str | None
    reading: Reading
    lead_name: str
    co_unit_names: tuple[str, ...]


@dataclass(frozen=True)
class Assigned:
    plan: str
    ref: str  # the item's reference in its plan (item-3); ``qualified`` names it anywhere
    reading: Reading

    @property
    def qualified(self) -> str:
        return qualified_ref(self.plan, self.ref)


def standing_plan_id(year: int) -> str:
    return f"assigned-{year}"


def preview_item(session_factory: SessionFactory, request: ItemRequest, *, actor: str, now: datetime) -> CheckedItem:
    """The item as it would be saved, its deadline's reading included; nothing is written."""
    with read_session(session_factory) as session:
        require_office(acting_user(session, actor), "item.assign")
        return check(session, request, today=require_plan(session).today(now))


def assign_item(session_factory: SessionFactory, request: ItemRequest, *, actor: str, now: datetime) -> Assigned:
    """Create the item in the standing plan of today's year, with its deliverables, in one transaction."""
    with session_factory.begin() as session:
        serialise(session, "plan")  # the plan's items are numbered in sequence; a standing plan is created once
        user = acting_user(session, actor)
        require_office(user, "item.assign")
        today = require_plan(session).today(now)
        item = check(session, request, today=today)
        plan = _standing_plan(session, today.year, item.reading, now)
        number = 1 + (session.scalar(select(func.count()).select_from(ObligationRecord)
                                     .where(ObligationRecord.plan_id == plan.id)) or 0)
        ref = f"item-{number}"
        key = obligation_key(plan.id, ref)
        session.add(ObligationRecord(
            id=key, plan_id=plan.id, ref=ref, declared_id=ref, lead_unit_id=item.lead, group_id=None, task=item.task,
            detail=None, deadline_text=item.reading.phrase, kind=item.reading.rule.kind,
            rule=rule_to_json(item.reading.rule), awaits=None,
            sources=[{"section": item.source or "交办", "unit": None, "item": None, "quote": None,
                      "deadline_text": None}],
            co_unit_ids=list(item.co_units), retired_at=None))
        session.flush()
        for unit_id in item.co_units:
            session.add(CoUnit(obligation_id=key, unit_id=unit_id))
        for unit_id in (item.lead, *item.co_units):
            if session.get(UnitPlan, (plan.id, unit_id)) is None:
                session.add(UnitPlan(plan_id=plan.id, unit_id=unit_id, definition=None))
        write_audit(session, now=now, actor=user.name, action="item.assign", obligation_id=key, unit_id=item.lead,
                    after={"plan": plan.id, "ref": ref, "task": item.task, "deadline": item.reading.phrase,
                           "co_units": list(item.co_units), "source": item.source},
                    note=item.reading.describe())
        for slot in item.reading.slots:
            d_ref = deliverable_ref(ref, slot.period)
            deliverable = Deliverable(
                ref=d_ref, plan_id=plan.id, qualified_ref=qualified_ref(plan.id, d_ref), obligation_id=key,
                unit_id=item.lead, period=slot.period, period_start=slot.period_start, period_end=slot.period_end,
                original_due=slot.due, due=slot.due, state="open", updated_at=now, updated_by=user.name)
            session.add(deliverable)
            write_audit(session, now=now, actor=user.name, action="deliverable.dated", deliverable=deliverable)
        return Assigned(plan.id, ref, item.reading)


def check(session: Session, request: ItemRequest, *, today: date) -> CheckedItem:
    """Every field of ``request`` checked, all problems at once (one InvalidInput naming each)."""
    problems: list[str] = []
    lead = co_units = None
    lead_name = ""
    co_names: list[str] = []
    if not (request.lead or "").strip():
        problems.append("请选择牵头单位")
    else:
        try:
            lead, lead_name = resolve_unit(session, request.lead)
        except (NotFound, InvalidInput) as problem:
            problems.append(str(problem))
    if len(request.co_units) > MAX_CO_UNITS:
        problems.append(f"配合单位最多 {MAX_CO_UNITS} 个")
    else:
        co_units = []
        for text in (c for c in request.co_units if c and c.strip()):
            try:
                unit_id, name = resolve_unit(session, text)
            except (NotFound, InvalidInput) as problem:
                problems.append(str(problem))
                continue
            if unit_id == lead:
                problems.append(f"{name}已是牵头单位,不能同时作为配合单位")
            elif unit_id not in co_units:
                co_units.append(unit_id)
                co_names.append(name)
    task = source = reading = None
    try:
        task = required_text(request.task, "交办任务", limit=MAX_TEXT)
    except InvalidInput as problem:
        problems.append(str(problem))
    try:
        source = checked_text(request.source, "交办来源", limit=MAX_SOURCE)
    except InvalidInput as problem:
        problems.append(str(problem))
    try:
        reading = read_item_deadline(request.deadline, today=today, repeat=request.repeat or None)
    except ItemDeadlineInvalid as problem:
        problems.append(str(problem))
    if problems:
        raise ItemInvalid(problems)
    return CheckedItem(lead, tuple(co_units), task, source, reading, lead_name, tuple(co_names))


class ItemInvalid(InvalidInput):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("交办事项未保存:" + ";".join(problems))


def resolve_unit(session: Session, text: str) -> tuple[str, str]:
    """A unit of the office's directory by id, short name, full name or alias: (id, short name). A name that
    matches nothing or several units is refused with what it could mean; nothing is guessed."""
    text = (text or "").strip()
    if not is_clean_key(text, limit=200):
        raise NotFound(f"没有名为“{text[:40]}”的单位")
    current = select(UnitRecord).where(UnitRecord.retired.is_(False))
    found = list(session.scalars(current.where(or_(UnitRecord.id == text, UnitRecord.short_name == text,
                                                   UnitRecord.name == text)).limit(5)))
    if not found:
        found = [u for u in session.scalars(current) if text in (u.aliases or [])][:5]
    if len(found) == 1:
        return found[0].id, found[0].short_name
    if found:
        raise InvalidInput(f"“{text}”可指多个单位:" + "、".join(f"{u.short_name}({u.id})" for u in found)
                           + ";请写单位编号")
    near = list(session.scalars(current.where(or_(UnitRecord.short_name.contains(text, autoescape=True),
                                                  UnitRecord.name.contains(text, autoescape=True))).limit(5)))
    if not near:  # the abbreviations people type (市人社局) are among the aliases; only a miss reads them all
        near = [u for u in session.scalars(current.order_by(UnitRecord.id))
                if any(text in alias for alias in u.aliases or [])][:5]
    hint = ("是否指:" + "、".join(f"{u.short_name}({u.id})" for u in near)) if near else "请检查单位名称"
    raise NotFound(f"单位目录中没有“{text}”:{hint}")


def _standing_plan(session: Session, year: int, reading: Reading, now: datetime) -> PlanRecord:
    """The year's standing plan, created on first use with the office's settings (its first plan's: the zone, the
    office, the schedules, the reminders); its span grows to the last due date of its items."""
    plan_id = standing_plan_id(year)
    record = session.get(PlanRecord, plan_id)
    last_due = reading.slots[-1].due
    if record is None:
        first = require_plan(session)
        record = PlanRecord(id=plan_id, title=f"{year}年交办事项", short_name=f"{year}年交办事项", kind=STANDING,
                            year=year, document_number="", issuer=None, time_zone=str(first.time_zone),
                            start=date(year, 1, 1), end=max(date(year, 12, 31), last_due),
                            published_on=date(year, 1, 1), settings=_standing_settings(session, first.id),
                            loaded_at=now)
        session.add(record)
        session.flush()
        sync_calendar(session, LoadReport())
    elif last_due > record.end:
        record.end = last_due
        session.flush()
        sync_calendar(session, LoadReport())
    return record


def _standing_settings(session: Session, first_plan: str) -> dict[str, Any]:
    """The office's first plan's settings, with an escalation ladder that needs no leading group: the unit's leader
    in charge first (``unit-member`` falls back to them), then the office."""
    settings = dict(session.get(PlanRecord, first_plan).settings)
    supervision = dict(settings["supervision"])
    after = [s["after_working_days"] for s in sorted(supervision["escalation"], key=lambda s: s["level"])]
    supervision["escalation"] = [{"level": 1, "after_working_days": after[0], "to": ["unit-member"]},
                                 {"level": 2, "after_working_days": after[min(1, len(after) - 1)], "to": ["office"]}]
    return {**settings, "supervision": supervision, "calendar_years": [], "figures": None}
