"""The plans of the office, each with its counts and lights (`duban plan list`, the dashboard's plan filter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.reading.lights import light_of, soon_before
from responsibilities.storage.db import read_session
from responsibilities.storage.model import Deliverable, ObligationRecord, PlanRecord
from responsibilities.storage.plans import PRIMARY_ORDER

SessionFactory = sessionmaker[Session]


@dataclass(frozen=True)
class PlanRow:
    id: str
    title: str
    short_name: str
    kind: str  # plan | standing
    document_number: str
    issuer: str | None
    start: date
    end: date
    closed_on: date | None
    obligations: int
    deliverables: int
    lights: dict[str, int] = field(default_factory=dict)  # red, yellow, green, grey: current deliverables

    def as_json(self) -> dict[str, Any]:
        closed = self.closed_on.isoformat() if self.closed_on else None
        return {**self.__dict__, "start": self.start.isoformat(), "end": self.end.isoformat(), "closed_on": closed,
                "closed": closed is not None}


def plan_list(session_factory: SessionFactory, *, today: date) -> list[PlanRow]:
    """Every plan, the standing ones (交办事项) included, the office's first plan first."""
    with read_session(session_factory) as session:
        zone_today = today
        obligations = dict(session.execute(select(ObligationRecord.plan_id, func.count())
                                           .where(ObligationRecord.retired_at.is_(None))
                                           .group_by(ObligationRecord.plan_id)).all())
        light = light_of(zone_today, soon_before(session, zone_today)).label("light")
        lights: dict[str, dict[str, int]] = {}
        for plan_id, colour, n in session.execute(select(Deliverable.plan_id, light, func.count())
                                                  .where(Deliverable.retired.is_(False))
                                                  .group_by(Deliverable.plan_id, light)):
            lights.setdefault(plan_id, {"red": 0, "yellow": 0, "green": 0, "grey": 0})[colour] = n
        rows = []
        for r in session.scalars(select(PlanRecord).order_by(*PRIMARY_ORDER)):
            counts = lights.get(r.id, {"red": 0, "yellow": 0, "green": 0, "grey": 0})
            rows.append(PlanRow(r.id, r.title, r.short_name or r.title, r.kind or "plan", r.document_number, r.issuer,
                                r.start, r.end, r.closed_at.date() if r.closed_at else None,
                                obligations.get(r.id, 0), sum(counts.values()), counts))
        return rows


@dataclass(frozen=True)
class PlanChoice:
    """A plan as a filter or the reports page names it: no counts."""

    id: str
    short_name: str
    kind: str
    closed_on: date | None
    title: str
    years: tuple[int, ...]  # the calendar years it runs through: the year-end summaries it has
    primary: bool  # the office's first plan: its links and files keep the names they had with one plan


def plan_choices(session_factory: SessionFactory) -> list[PlanChoice]:
    """Every plan, the office's first first: ids, names and years only (columns, not rows with settings parsed)."""
    with read_session(session_factory) as session:
        rows = session.execute(select(PlanRecord.id, PlanRecord.short_name, PlanRecord.title, PlanRecord.kind,
                                      PlanRecord.closed_at, PlanRecord.start, PlanRecord.end)
                               .order_by(*PRIMARY_ORDER)).all()
    return [PlanChoice(id_, short_name or title, kind or "plan", closed_at.date() if closed_at else None, title,
                       tuple(range(start.year, end.year + 1)), i == 0)
            for i, (id_, short_name, title, kind, closed_at, start, end) in enumerate(rows)]
