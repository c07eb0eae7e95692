"""The year-end compliance summary (年度督办情况总结) as data: how each lead unit delivered in one year.

Which deliverables count: those whose ORIGINAL due date (as the plan dates it) falls in the year, excluding
retired deliverables and those of retired obligations. Each one has exactly one outcome as of ``today``:

- on time (按时办结): accepted, and the submission that was finally accepted was made (its local date in
  the plan's time zone) on or before the original due date. Scoring is strictly against the original due
  date (DESIGN: "the original is kept for scoring"): a granted extension does not move the bar. A
  deliverable accepted after its original due date but before an extended one is late, and its extension
  also shows under ``extensions_granted``. A return and resubmission is judged by the resubmission's date;
- late (逾期办结): accepted, submitted after the original due date; ``days_late`` = days past it;
- overdue (逾期未办结): not signed off (open, returned, or submitted and not yet reviewed) and its original
  due date is before ``today``. A submission waiting for the office's review counts here until the office
  decides: the summary scores sign-offs only. ``awaiting_review`` says how many of them are with the office;
- waived (免报): the office waived it; it leaves the rate's denominator whatever its dates;
- not yet due (未到期): not signed off and due ``today`` or later (only before the year has closed).

On-time rate = on time / (due − waived − not yet due): at year end simply on time / (due − waived); before
that, the rate of what has fallen due so far. None when nothing was scored.

Ranking uses outcomes only: on-time rate (higher first), then fewer overdue deliverables; units equal on
both share a rank (1, 1, 3) and are listed by unit id. Units with no rate (everything waived or not yet
due) are not ranked. States are the deliverables' current ones; ``today`` dates overdue-ness only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import Date, Integer, String, func, literal, select, true
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.errors import InvalidInput
from responsibilities.notices.outbox import insert_notices_ignoring_conflicts
from responsibilities.plan.model import plan_name
from responsibilities.storage.db import read_session
from responsibilities.storage.model import Deliverable, Extension, Notice, ObligationRecord, UnitRecord
from responsibilities.storage.plans import open_plans, require_plan

SessionFactory = sessionmaker[Session]
OUTCOMES = ("on_time", "late", "overdue", "waived", "not_yet_due")


@dataclass(frozen=True, kw_only=True)
class Counts:
    """Outcomes of a set of deliverables; ``due`` = on_time + late + overdue + waived + not_yet_due."""

    due: int = 0
    on_time: int = 0
    late: int = 0
    days_late: tuple[int, ...] = ()  # one entry per late deliverable, largest first
    overdue: int = 0
    awaiting_review: int = 0  # overdue ones already submitted, waiting for the office
    waived: int = 0
    not_yet_due: int = 0
    extensions_granted: int = 0  # granted extension decisions on these deliverables

    @property
    def scored(self) -> int:
        return self.due - self.waived - self.not_yet_due

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.scored if self.scored else None

    @property
    def average_days_late(self) -> float | None:
        return sum(self.days_late) / len(self.days_late) if self.days_late else None

    @property
    def max_days_late(self) -> int | None:
        return max(self.days_late) if self.days_late else None

    @staticmethod
    def total(parts: Iterable[Counts]) -> Counts:
        parts = list(parts)
        sums: dict[str, Any] = {f.name: sum(getattr(p, f.name) for p in parts)
                                for f in fields(Counts) if f.name != "days_late"}
        late = sorted((d for p in parts for d in p.days_late), reverse=True)
        return Counts(**sums, days_late=tuple(late))


@dataclass(frozen=True, kw_only=True)
class UnitYear(Counts):
    unit_id: str
    unit_name: str


@dataclass(frozen=True)
class RankEntry:
    rank: int
    unit_id: str
    unit_name: str
    on_time_rate: float
    overdue: int


@dataclass(frozen=True)
class RedItem:
    """A deliverable past its original due date and not signed off (红色事项)."""

    ref: str
    unit_id: str
    unit_name: str
    task: str
    original_due: date
    due: date
    state: str
    days_overdue: int


@dataclass(frozen=True)
class YearSummary:
    plan_title: str
    document_number: str
    year: int
    as_of: date
    units: tuple[UnitYear, ...]  # ranked units in rank order, then unranked ones by unit id
    ranking: tuple[RankEntry, ...]
    totals: Counts
    red_items: tuple[RedItem, ...]  # most days overdue first
    numbers: Any = None  # the numbers part (progress.PlanNumbers): regions against their targets; None without figures
    plan_id: str = ""
    primary: bool = True  # the office's first plan, whose files and links keep the names they had with one plan

    @property
    def title(self) -> str:
        """贵港市职业技能提升行动 2019年度督办情况总结: the plan's name without 工作方案 and its span."""
        return f"{plan_name(self.plan_title)} {self.year}年度督办情况总结"

    @property
    def year_closed(self) -> bool:
        return self.as_of > date(self.year, 12, 31)


# ── the query ────────────────────────────────────────────────────────────────────────────────────


def outcome(state: str, original_due: date, submitted_on: date | None, today: date) -> str:
    """One of OUTCOMES for a deliverable (see the module docstring)."""
    if state == "waived":
        return "waived"
    if state == "accepted":
        return "on_time" if submitted_on is not None and submitted_on <= original_due else "late"
    return "overdue" if original_due < today else "not_yet_due"


def year_end_summary(session_factory: SessionFactory, *, year: int, today: date,
                     plan_id: str | None = None) -> YearSummary:
    """The summary of ``year`` of the plan ``plan_id`` (the office's first plan by default) as of ``today``. Raises
    NotFound with no plan, InvalidInput for a year outside it."""
    with read_session(session_factory) as session:
        return summarize_year(session, year=year, today=today, plan_id=plan_id)


def summarize_year(session: Session, *, year: int, today: date, plan_id: str | None = None) -> YearSummary:
    """``year_end_summary`` inside a session the caller holds (e.g. while rendering a summary notice)."""
    plan = require_plan(session, plan_id)
    if not plan.start.year <= year <= plan.end.year:
        raise InvalidInput(f"{year} 年不在工作方案实施期内:{plan.title}实施期为 {plan.start.year}–{plan.end.year} 年,"
                           f"请选择 {plan.start.year} 至 {plan.end.year} 年之间的年份")
    zone = plan.time_zone
    in_year = (Deliverable.plan_id == plan.id, Deliverable.retired.is_(False), ObligationRecord.retired_at.is_(None),
               Deliverable.original_due >= date(year, 1, 1), Deliverable.original_due <= date(year, 12, 31))
    rows = session.execute(select(Deliverable, ObligationRecord.task)
                           .join(ObligationRecord, Deliverable.obligation_id == ObligationRecord.id)
                           .where(*in_year)).all()
    extensions = dict(session.execute(
        select(Deliverable.unit_id, func.count(Extension.id))
        .join(Deliverable, Extension.deliverable_id == Deliverable.id)
        .join(ObligationRecord, Deliverable.obligation_id == ObligationRecord.id)
        .where(Extension.status == "granted", *in_year).group_by(Deliverable.unit_id)).all())
    names = dict(session.execute(select(UnitRecord.id, UnitRecord.short_name)).all())
    plan_title, number = plan.title, plan.document_number

    tallies: dict[str, Counter] = defaultdict(Counter)
    late_days: dict[str, list[int]] = defaultdict(list)
    red: list[RedItem] = []
    for d, task in rows:
        moment = d.submitted_at or (d.decided_at if d.state == "accepted" else None)
        submitted_on = moment.astimezone(zone).date() if moment else None
        result = outcome(d.state, d.original_due, submitted_on, today)
        tallies[d.unit_id][result] += 1
        if result == "late":
            late_days[d.unit_id].append((submitted_on - d.original_due).days if submitted_on else 0)
        elif result == "overdue":
            tallies[d.unit_id]["awaiting_review"] += d.state == "submitted"
            red.append(RedItem(d.ref, d.unit_id, names.get(d.unit_id, d.unit_id), task, d.original_due,
                               d.due or d.original_due, d.state, (today - d.original_due).days))
    units = [UnitYear(unit_id=u, unit_name=names.get(u, u), due=sum(t[o] for o in OUTCOMES),
                      **{o: t[o] for o in OUTCOMES}, awaiting_review=t["awaiting_review"],
                      days_late=tuple(sorted(late_days[u], reverse=True)), extensions_granted=extensions.get(u, 0))
             for u, t in tallies.items()]
    ranking = rank_units(units)
    order = {entry.unit_id: i for i, entry in enumerate(ranking)}
    units.sort(key=lambda u: (order.get(u.unit_id, len(order)), u.unit_id))
    red.sort(key=lambda r: (-r.days_overdue, r.unit_id, r.ref))
    numbers = None
    if plan.figures is not None:
        from responsibilities.figures.progress import numbers_for

        numbers = numbers_for(session, year=year, today=today)
    return YearSummary(plan_title, number, year, today, tuple(units), ranking, Counts.total(units), tuple(red),
                       numbers, plan_id=plan.id, primary=plan.id == require_plan(session).id)


def rank_units(units: Iterable[UnitYear]) -> tuple[RankEntry, ...]:
    """Outcomes only: on-time rate desc, then fewer overdue; ties share a rank and are listed by unit id."""
    rated = sorted((u for u in units if u.on_time_rate is not None),
                   key=lambda u: (-u.on_time_rate, u.overdue, u.unit_id))
    entries: list[RankEntry] = []
    for position, u in enumerate(rated, 1):
        tied = entries and (entries[-1].on_time_rate, entries[-1].overdue) == (u.on_time_rate, u.overdue)
        entries.append(RankEntry(entries[-1].rank if tied else position, u.unit_id, u.unit_name,
                                 u.on_time_rate, u.overdue))
    return tuple(entries)


# ── JSON ─────────────────────────────────────────────────────────────────────────────────────────


def _counts_json(c: Counts) -> dict[str, Any]:
    data = {f.name: getattr(c, f.name) for f in fields(Counts)}
    return {**data, "days_late": list(c.days_late), "scored": c.scored, "on_time_rate": c.on_time_rate,
            "average_days_late": c.average_days_late, "max_days_late": c.max_days_late}


def year_summary_to_json(summary: YearSummary) -> dict[str, Any]:
    """Plain JSON types: dates as ISO strings, rates as fractions (0.75), None where there is nothing to rate."""
    return {
        "title": summary.title,
        "plan": {"id": summary.plan_id, "title": summary.plan_title, "document_number": summary.document_number},
        "year": summary.year,
        "as_of": summary.as_of.isoformat(),
        "year_closed": summary.year_closed,
        "units": [{"unit_id": u.unit_id, "unit_name": u.unit_name, **_counts_json(u)} for u in summary.units],
        "ranking": [e.__dict__ for e in summary.ranking],
        "totals": _counts_json(summary.totals),
        "red_items": [{**r.__dict__, "original_due": r.original_due.isoformat(), "due": r.due.isoformat()}
                      for r in summary.red_items],
        "numbers": _numbers_json(summary.numbers),
    }


def _numbers_json(numbers: Any) -> dict[str, Any] | None:
    if numbers is None:
        return None
    from responsibilities.figures.progress import numbers_to_json

    return numbers_to_json(numbers)


# ── the summary notice ───────────────────────────────────────────────────────────────────────────

SUMMARY_AUDIENCE = "leader,deputies,office"


def summary_plans(session_factory: SessionFactory, *, year: int) -> list[str]:
    """The plans owing a summary of ``year``: open, and running in that year; the office's first plan first."""
    with read_session(session_factory) as session:
        return [p.id for p in open_plans(session) if p.start.year <= year <= p.end.year]


def summary_key(plan_id: str, year: int) -> str:
    return f"summary:{plan_id}:{year}"


def queue_summary_notice(session_factory: SessionFactory, *, year: int, now: datetime, today: date,
                         plan_id: str) -> int:
    """Owe the leaders and the office a mail saying the summary of ``year`` is written (kind ``summary``).

    One notice per year under ``summary:<year>``, inserted with conflicts ignored: writing the summary again
    (a rerun of the year-end flow) rewrites the files but mails nobody twice. What the mail says is computed
    when it is rendered. Returns 1 if the notice is new, else 0.
    """
    query = select(literal(summary_key(plan_id, year), String).label("dedupe_key"), literal("summary").label("kind"),
                   literal(0).label("level"), literal(SUMMARY_AUDIENCE).label("audience"),
                   literal(None, Integer).label("deliverable_id"), literal(None, String).label("obligation_id"),
                   literal(None, String).label("unit_id"), literal(today, Date).label("owed_on"),
                   literal(now, Notice.created_at.type).label("created_at"), literal("pending").label("status"),
                   literal(0).label("attempts"), literal(plan_id, String).label("plan_id")).where(true())
    with session_factory.begin() as session:
        return insert_notices_ignoring_conflicts(session, query)


def best_and_worst(summary: YearSummary, count: int = 3) -> tuple[tuple[RankEntry, ...], tuple[RankEntry, ...]]:
    """The ``count`` best-ranked units, and the ``count`` worst (worst first): no unit in both lists, and none in
    the worst that shares its rank with one of the best (a tie at the top is not the bottom)."""
    ranking = summary.ranking
    best = ranking[:count]
    below = [e for e in ranking[len(best):] if not best or e.rank > best[-1].rank]
    return best, tuple(reversed(below[-count:]))
