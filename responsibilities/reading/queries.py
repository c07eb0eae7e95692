"""The read side: status with traffic lights, one deliverable with its history, the audit trail.

Reads respect the same walls as writes: a unit's user sees its own deliverables (and those it cooperates
on, marked as such), never another unit's. The office and leaders see everything. ``viewer=None`` is the
operator at the command line, who can read the database file anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.plan.deliverables import days_overdue, light, qualified_ref
from responsibilities.storage.db import read_session
from responsibilities.storage.model import (
    FAILED_OR_REFUSED,
    AuditRecord,
    CoUnit,
    Deliverable,
    EventRecord,
    Evidence,
    Extension,
    Notice,
    ObligationRecord,
    PlanRecord,
    UnitRecord,
)
from responsibilities.storage.plans import read_plan, require_plan
from responsibilities.tracking.access import find_deliverable, plan_name, viewing_user, visible_unit

SessionFactory = sessionmaker[Session]


@dataclass(frozen=True)
class StatusRow:
    id: str
    obligation: str
    unit: str
    unit_name: str
    task: str
    kind: str
    period: str | None
    due: date | None
    original_due: date | None
    state: str
    light: str
    days_overdue: int
    version: int | None
    cooperating: bool = False  # the viewer's unit cooperates on it rather than leads it
    plan: str = ""  # the plan's id: refs are unique within a plan
    plan_name: str = ""

    @property
    def qualified(self) -> str:
        """The reference that names this row in any database: <plan>:<ref>."""
        return qualified_ref(self.plan, self.id)

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "due": self.due.isoformat() if self.due else None,
                "original_due": self.original_due.isoformat() if self.original_due else None}


def status(session_factory: SessionFactory, *, today: date, viewer: str | None = None,
           unit: str | None = None) -> list[StatusRow]:
    """Every current deliverable (and every obligation still waiting for an event or a date) with its light."""
    with read_session(session_factory) as session:
        return status_rows(session, today=today, viewer=viewer, unit=unit)


def status_rows(session: Session, *, today: date, viewer: str | None = None,
                unit: str | None = None) -> list[StatusRow]:
    """``status`` inside a session the caller holds (the digests read it in their own transaction)."""
    plan = require_plan(session)
    calendar, window = plan.calendar, plan.supervision.due_soon_working_days
    unit = visible_unit(session, viewing_user(session, viewer), unit)
    names = dict(session.execute(select(UnitRecord.id, UnitRecord.short_name)).all())
    plan_names = plan_short_names(session)
    # Columns, not entities: a digest or a dashboard reads every deliverable, and building ORM objects (with the
    # obligation's JSON columns parsed) cost ~5x the query itself; `duban simulate` renders thousands of digests.
    query = (select(Deliverable.ref, Deliverable.unit_id, Deliverable.period, Deliverable.due,
                    Deliverable.original_due, Deliverable.state, Deliverable.version, ObligationRecord.ref,
                    ObligationRecord.task, ObligationRecord.kind, Deliverable.plan_id)
             .join(ObligationRecord, Deliverable.obligation_id == ObligationRecord.id)
             .where(Deliverable.retired.is_(False), ObligationRecord.retired_at.is_(None)))
    cooperating: set[str] = set()
    if unit is not None:
        cooperating = set(session.scalars(select(CoUnit.obligation_id).where(CoUnit.unit_id == unit)))
        query = query.where(or_(Deliverable.unit_id == unit, Deliverable.obligation_id.in_(cooperating)))
    lights: dict[tuple[str, date | None], str] = {}  # a light depends on (state, due) only: many rows share one

    def light_of(state: str, due: date | None) -> str:
        if (state, due) not in lights:
            lights[state, due] = light(state, due, today, calendar=calendar, due_soon_working_days=window)
        return lights[state, due]

    rows = [
        StatusRow(ref, obligation_id, unit_id, names.get(unit_id, unit_id), task, kind, period, due, original_due,
                  state, light_of(state, due), days_overdue(due, today) if state in ("open", "returned") else 0,
                  version, cooperating=unit is not None and unit_id != unit, plan=plan_id,
                  plan_name=plan_names.get(plan_id, plan_id))
        for ref, unit_id, period, due, original_due, state, version, obligation_id, task, kind, plan_id
        in session.execute(query)
    ]
    rows += _waiting_rows(session, names, plan_names, unit)
    return sorted(rows, key=lambda r: (r.cooperating, r.unit, r.due or date.max, r.id))


def plan_short_names(session: Session) -> dict[str, str]:
    return {plan_id: short or title for plan_id, short, title
            in session.execute(select(PlanRecord.id, PlanRecord.short_name, PlanRecord.title))}


def _waiting_rows(session: Session, names: dict[str, str], plan_names: dict[str, str],
                  unit: str | None) -> list[StatusRow]:
    """Obligations with no deliverable yet because the office has not recorded their event or date."""
    dated = exists().where(Deliverable.obligation_id == ObligationRecord.id, Deliverable.retired.is_(False))
    query = select(ObligationRecord).where(ObligationRecord.kind.in_(("after_event", "external")),
                                           ObligationRecord.retired_at.is_(None), ~dated)
    if unit is not None:
        query = query.where(ObligationRecord.lead_unit_id == unit)
    rows = []
    for o in session.scalars(query):
        event = session.get(EventRecord, o.awaits) if o.awaits else None
        state = "awaiting_event" if event is not None else "awaiting_date"
        rows.append(StatusRow(o.ref, o.ref, o.lead_unit_id, names.get(o.lead_unit_id, o.lead_unit_id), o.task,
                              o.kind, None, None, None, state, "grey", 0, None, plan=o.plan_id,
                              plan_name=plan_names.get(o.plan_id, o.plan_id)))
    return rows


@dataclass(frozen=True)
class DeliverableView:
    deliverable: Deliverable
    obligation: ObligationRecord
    unit_name: str
    evidence: list[Evidence] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)
    history: list[AuditRecord] = field(default_factory=list)
    plan_name: str = ""


def show(session_factory: SessionFactory, *, ref: str, viewer: str | None = None) -> DeliverableView:
    with read_session(session_factory) as session:
        # Another unit's deliverable is, for a unit's user, not there: the same answer as a ref that is not.
        deliverable = find_deliverable(session, ref, viewing_user(session, viewer))
        obligation = session.get(ObligationRecord, deliverable.obligation_id)
        unit = session.get(UnitRecord, deliverable.unit_id)
        return DeliverableView(
            deliverable, obligation, unit.short_name if unit else deliverable.unit_id,
            list(session.scalars(select(Evidence).where(Evidence.deliverable_id == deliverable.id)
                                 .order_by(Evidence.id))),
            list(session.scalars(select(Extension).where(Extension.deliverable_id == deliverable.id)
                                 .order_by(Extension.id))),
            list(session.scalars(select(AuditRecord).where(AuditRecord.deliverable_id == deliverable.id)
                                 .order_by(AuditRecord.id))),
            plan_name(session, deliverable.plan_id),
        )


def audit_trail(session_factory: SessionFactory, *, viewer: str | None = None, unit: str | None = None,
                deliverable: str | None = None, limit: int | None = None) -> list[AuditRecord]:
    """The trail, oldest first (the last ``limit`` records when given)."""
    with read_session(session_factory) as session:
        user = viewing_user(session, viewer)
        unit = visible_unit(session, user, unit)
        query = select(AuditRecord)
        if unit is not None:
            query = query.where(AuditRecord.unit_id == unit)
        if deliverable is not None:  # a ref (or <plan>:<ref>) names one deliverable, whose own records these are
            query = query.where(AuditRecord.deliverable_id == find_deliverable(session, deliverable, user).id)
        if limit is not None:
            newest = list(session.scalars(query.order_by(AuditRecord.id.desc()).limit(limit)))
            return newest[::-1]
        return list(session.scalars(query.order_by(AuditRecord.id)))


def notices(session_factory: SessionFactory, *, status: str | None = None, unit: str | None = None,
            viewer: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Notices, newest first: what was owed, to whom, and how delivery went (failed ones keep the server's reply)."""
    with read_session(session_factory) as session:
        unit = visible_unit(session, viewing_user(session, viewer), unit)
        query = select(Notice).order_by(Notice.id.desc()).limit(limit)
        if status == "failed":  # what the office must look at: failed, or sent with some recipients refused for good
            query = query.where(FAILED_OR_REFUSED)
        elif status is not None:
            query = query.where(Notice.status == status)
        if unit is not None:
            query = query.where(Notice.unit_id == unit)
        return [{"id": n.id, "dedupe_key": n.dedupe_key, "kind": n.kind, "level": n.level, "audience": n.audience,
                 "unit_id": n.unit_id, "owed_on": n.owed_on.isoformat(), "status": n.status, "attempts": n.attempts,
                 "first_attempt_at": n.first_attempt_at.isoformat() if n.first_attempt_at else None,
                 "next_attempt_at": n.next_attempt_at.isoformat() if n.next_attempt_at else None,
                 "claimed_by": n.claimed_by if n.status == "sending" else None,
                 "claimed_at": n.claimed_at.isoformat() if n.status == "sending" and n.claimed_at else None,
                 "sent_at": n.sent_at.isoformat() if n.sent_at else None, "message_id": n.message_id,
                 "recipients": n.recipients, "refused": n.refused, "last_error": n.last_error}
                for n in session.scalars(query)]


def unit_short_name(session_factory: SessionFactory, unit_id: str) -> str:
    """A unit's short name (市人社局), or its id if it is not in the directory."""
    with read_session(session_factory) as session:
        unit = session.get(UnitRecord, unit_id)
        return unit.short_name if unit is not None else unit_id


def active_unit_ids(session_factory: SessionFactory) -> list[str]:
    """The units in the plan now (not retired), by id."""
    with read_session(session_factory) as session:
        return list(session.scalars(select(UnitRecord.id).where(UnitRecord.retired.is_(False))
                                    .order_by(UnitRecord.id)))


def unit_short_names(session_factory: SessionFactory, unit_ids: list[str]) -> list[str]:
    """The short names of ``unit_ids``, in their order (an id stands for a unit not in the directory)."""
    with read_session(session_factory) as session:
        names = dict(session.execute(select(UnitRecord.id, UnitRecord.short_name)
                                     .where(UnitRecord.id.in_(unit_ids))).all())
    return [names.get(i, i) for i in unit_ids]


def plan_years(session_factory: SessionFactory, plan_id: str | None = None) -> list[int]:
    """The calendar years the plan ``plan_id`` (the office's first by default) runs through: the year-end
    summaries that exist. Raises NotFound for a plan that is not there."""
    plan = read_plan(session_factory, plan_id)
    return list(range(plan.start.year, plan.end.year + 1))
