"""The supervision bulletin (督查通报) of a period as data: how each lead unit stood on the deliverables of a month,
a quarter, a year or any span of days, ranked worst first, with the worst overdue items named.

Which deliverables count (of every plan, each as it stood at the bulletin's moment, below; never retired ones):
- those whose original due date, or whose due date after extensions, falls in the period;
- those due before it that were overdue during it: not handed in (open, or returned for rework) at some moment of it.

The moment. A period that has ended is judged as it stood at its close (24:00 of its last day, in the office's time
zone), whenever the bulletin is made: states, due dates and hand-ins are read from the audit trail, where every
change is written with its time. So a deliverable accepted after the period is overdue in it, and one dated, retired
or waived later is as it was then. A period still running (``today`` on or before its last day) is judged at the
close of ``today``. ``as_of`` is the last day counted: the period's end, or today.

Outcomes, one each, against the ORIGINAL due date (the plan's: a granted extension does not move the bar, as in the
year-end summary):
- on_time (按时报送): handed in (submitted, or since accepted) on or before it; the local date of the hand-in that
  stood at the moment counts, a return and a new hand-in being judged by the new one;
- late (逾期报送): handed in after it;
- overdue (逾期未报送): open at the moment and past it. For a period that has ended, "past" means before the day after
  the period (one due on the period's last day and not handed in by its close is overdue); for one still running,
  before today (one due today may still be handed in today). ``days_overdue`` = that day − the due date, the days
  the year-end summary would count on that day;
- returned (退回重办): returned for rework at the moment, not handed in again;
- waived (免报);
- not_yet_due (未到期): open and not yet due (only while the period runs).

Ranking, worst first: the most overdue; then the most days overdue in all; then the most returned; then the most
late. Units equal on all four share a rank and are listed by unit id.

Plans. A bulletin spans every plan; ``_in_period`` is the one place that says which deliverables are read (both the
deliverables and their audit trail are selected by it), so restricting a bulletin to some plans is one more
condition there (``Deliverable.plan_id.in_(plans)``) and a parameter passed down to it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, String, and_, func, literal, not_, or_, select, true
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.errors import InvalidInput
from responsibilities.notices.outbox import insert_notices_ignoring_conflicts
from responsibilities.reports.periods import Period, parse_period, period_between, previous_month
from responsibilities.storage.db import read_session
from responsibilities.storage.model import (
    AuditRecord,
    CalendarDay,
    Deliverable,
    Notice,
    ObligationRecord,
    PlanRecord,
    UnitRecord,
)
from responsibilities.storage.plans import PRIMARY_ORDER, open_plans, require_plan
from responsibilities.vocabulary import NOTICE_KIND_NAMES

SessionFactory = sessionmaker[Session]
OUTCOMES = ("on_time", "late", "overdue", "returned", "waived", "not_yet_due")
HANDED_IN = ("submitted", "accepted")
NOT_HANDED_IN = ("open", "returned")
WORST_ITEMS = 30  # the bulletin names at most this many overdue items, the most days overdue first


# ── the bulletin ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, kw_only=True)
class Tally:
    """What became of a set of deliverables; ``items`` = on_time + late + overdue + returned + waived + not_yet_due."""

    items: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    returned: int = 0
    waived: int = 0
    not_yet_due: int = 0
    days_overdue: int = 0  # summed over the overdue items
    most_days_overdue: int = 0

    @property
    def scored(self) -> int:
        return self.items - self.waived - self.not_yet_due

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.scored if self.scored else None

    @staticmethod
    def total(parts: Iterable[Tally]) -> Tally:
        parts = list(parts)
        sums = {f.name: sum(getattr(p, f.name) for p in parts) for f in fields(Tally) if f.name != "most_days_overdue"}
        return Tally(**sums, most_days_overdue=max((p.most_days_overdue for p in parts), default=0))


@dataclass(frozen=True, kw_only=True)
class UnitStanding(Tally):
    rank: int  # 1 is the unit with the most to answer for
    unit_id: str
    unit_name: str


@dataclass(frozen=True)
class OverdueItem:
    unit_id: str
    unit_name: str
    plan_id: str
    plan_name: str
    ref: str
    task: str
    original_due: date
    due: date  # after extensions, as it stood at the moment
    days_overdue: int


@dataclass(frozen=True)
class UnitItems:
    """One unit's share of the worst overdue items, the most days overdue first."""

    rank: int
    unit_id: str
    unit_name: str
    items: tuple[OverdueItem, ...]


@dataclass(frozen=True)
class Bulletin:
    period: Period
    ended: bool  # judged at the period's close; else as of today, while it runs
    as_of: date  # the last day counted: the period's end, or today while it runs
    reckoned_on: date  # overdue means due before this day (see the module's docstring)
    units: tuple[UnitStanding, ...]  # worst first
    totals: Tally
    worst: tuple[UnitItems, ...]  # the worst overdue items, by unit, units in rank order
    overdue_not_listed: int  # overdue items beyond WORST_ITEMS, left out of ``worst``
    plan_names: tuple[str, ...]  # the plans its deliverables belong to, the office's first plan first

    @property
    def title(self) -> str:
        return f"{self.period.label}{NOTICE_KIND_NAMES['bulletin']}"

    @property
    def empty(self) -> bool:
        return self.totals.items == 0


def bulletin(session_factory: SessionFactory, *, start: date, end: date, today: date,
             worst: int = WORST_ITEMS) -> Bulletin:
    """The bulletin of the days ``start`` … ``end`` (both included), as of their close or, while they run, of
    ``today``'s. Raises InvalidInput for a period that runs backwards, spans more than MAX_YEARS years or has not
    begun, NotFound when no plan is loaded."""
    period = period_between(start, end)
    with read_session(session_factory) as session:
        return compile_bulletin(session, period=period, today=today, worst=worst)


def compile_bulletin(session: Session, *, period: Period, today: date, worst: int = WORST_ITEMS) -> Bulletin:
    """``bulletin`` inside a session the caller holds (e.g. while rendering the monthly notice)."""
    if period.start > today:
        raise InvalidInput(f"统计期自 {period.start} 开始,尚未到来(今天是 {today}):请选择已经开始的统计期")
    zone = require_plan(session).time_zone
    ended = period.has_ended(today)
    as_of = period.end if ended else today
    reckoned_on = as_of + timedelta(days=1) if ended else today
    opened, closed = _midnight(period.start, zone), _midnight(as_of + timedelta(days=1), zone)

    criteria = _in_period(period, opened)
    rows = session.execute(select(Deliverable, ObligationRecord.task, ObligationRecord.retired_at)
                           .join(ObligationRecord, Deliverable.obligation_id == ObligationRecord.id)
                           .where(*criteria)).all()
    trails = _trails(session, criteria)
    units = dict(session.execute(select(UnitRecord.id, UnitRecord.short_name)).all())
    plans = dict(session.execute(select(PlanRecord.id, PlanRecord.short_name)).all())

    tallies: dict[str, Counter] = defaultdict(Counter)
    overdue: list[OverdueItem] = []
    counted_plans: set[str] = set()
    for d, task, obligation_retired_at in rows:
        steps = trails.get(d.id, [])
        standing = stood_at(steps, closed) if steps else stood_by_columns(d, closed)
        if standing is None or standing.retired or (obligation_retired_at and obligation_retired_at < closed):
            continue  # not yet dated at the moment, or no longer owed
        if not _counts_in(period, standing, steps, d, opened, closed):
            continue
        result, days = outcome(standing, reckoned_on, zone)
        counted_plans.add(d.plan_id)
        tally = tallies[d.unit_id]
        tally[result] += 1
        if result == "overdue":
            tally["days_overdue"] += days
            tally["most_days_overdue"] = max(tally["most_days_overdue"], days)
            overdue.append(OverdueItem(d.unit_id, units.get(d.unit_id, d.unit_id), d.plan_id,
                                       plans.get(d.plan_id) or d.plan_id, d.ref, task, standing.original_due,
                                       standing.due or standing.original_due, days))
    standings = rank_units(tallies, units)
    plan_names = tuple(plans[p] or p for p in session.scalars(select(PlanRecord.id).order_by(*PRIMARY_ORDER))
                       if p in counted_plans)  # the office's first plan first
    listed, left_off = worst_items(overdue, standings, worst)
    return Bulletin(period, ended, as_of, reckoned_on, standings, Tally.total(standings), listed, left_off,
                    plan_names)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def _in_period(period: Period, opened: datetime) -> tuple:
    """Which deliverables a bulletin reads: a superset of those it counts, from their current columns (the exact
    rule, ``_counts_in``, needs their history). Those due in the period, and those due before it unless handed in
    or waived before it began and so left since. Every condition on what a bulletin covers belongs here."""
    handed_in_before = func.coalesce(Deliverable.submitted_at, Deliverable.decided_at) < opened
    settled_before = or_(and_(Deliverable.state.in_(HANDED_IN), handed_in_before),
                         and_(Deliverable.state == "waived", Deliverable.decided_at < opened))
    return (Deliverable.original_due.is_not(None),
            or_(Deliverable.original_due.between(period.start, period.end),
                Deliverable.due.between(period.start, period.end),
                and_(Deliverable.original_due < period.start, not_(settled_before))))


Step = tuple[datetime, dict[str, Any]]  # one audit record of a deliverable: when, and the deliverable after it


def _trails(session: Session, criteria: tuple) -> dict[int, list[Step]]:
    """The audit trail of every deliverable ``criteria`` select, in the order it was written (each change after the
    one it changed, even when an action was recorded as of an earlier day than the one before it, as `--as-of` and
    the replay can): each record that shows its state."""
    query = (select(AuditRecord.deliverable_id, AuditRecord.at, AuditRecord.after)
             .join(Deliverable, Deliverable.id == AuditRecord.deliverable_id)
             .where(*criteria).order_by(AuditRecord.deliverable_id, AuditRecord.id))
    trails: dict[int, list[Step]] = defaultdict(list)
    for deliverable_id, at, after in session.execute(query):
        if isinstance(after, dict) and "state" in after:
            trails[deliverable_id].append((at, after))
    return trails


# ── a deliverable at a moment ────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Standing:
    """A deliverable as it stood at one moment."""

    state: str
    original_due: date | None
    due: date | None
    retired: bool
    handed_in_at: datetime | None  # the hand-in that stood, when submitted or accepted


def stood_at(steps: list[Step], moment: datetime) -> Standing | None:
    """The deliverable at ``moment`` from its audit trail (in the order written): the changes made before it, one
    after the other. None when it did not exist yet."""
    state, snapshot, handed_in_at = None, None, None
    for at, after in steps:
        if at >= moment:
            continue
        if after["state"] == "submitted" and state != "submitted":  # a hand-in (a correction of figures is not)
            handed_in_at = at
        state, snapshot = after["state"], after
    if snapshot is None:
        return None
    return Standing(state, _day(snapshot.get("original_due")), _day(snapshot.get("due")),
                    bool(snapshot.get("retired")), handed_in_at if state in HANDED_IN else None)


def stood_by_columns(d: Deliverable, moment: datetime) -> Standing:
    """For a deliverable without an audit trail (none is made so; rows written by hand): its columns, with a
    decision or a hand-in made after ``moment`` undone."""
    handed_in_at = d.submitted_at or (d.decided_at if d.state == "accepted" else None)
    state = d.state
    if state in ("accepted", "waived") and d.decided_at is not None and d.decided_at >= moment:
        state = "submitted" if state == "accepted" else "open"
    if state in HANDED_IN and (handed_in_at is None or handed_in_at >= moment):
        state = "open"
    return Standing(state, d.original_due, d.due, d.retired, handed_in_at if state in HANDED_IN else None)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _counts_in(period: Period, standing: Standing, steps: list[Step], d: Deliverable, opened: datetime,
               closed: datetime) -> bool:
    """Whether the bulletin of ``period`` counts the deliverable: due in it (originally, or after extensions), or
    due before it and not handed in at some moment of it."""
    original, due = standing.original_due, standing.due or standing.original_due
    if original is None:
        return False
    if period.start <= original <= period.end or period.start <= due <= period.end:
        return True
    if original > period.end:
        return False
    if not steps:
        return stood_by_columns(d, opened).state in NOT_HANDED_IN or standing.state in NOT_HANDED_IN
    at_opening = stood_at(steps, opened)
    if at_opening is None or at_opening.state in NOT_HANDED_IN:  # dated during the period, already past due
        return True
    return any(opened <= at < closed and after["state"] in NOT_HANDED_IN for at, after in steps)


def outcome(standing: Standing, reckoned_on: date, zone: ZoneInfo) -> tuple[str, int]:
    """One of OUTCOMES for a deliverable as it stood, and its days late or overdue (else 0)."""
    due = standing.original_due
    if standing.state == "waived":
        return "waived", 0
    if standing.state in HANDED_IN:
        handed_on = standing.handed_in_at.astimezone(zone).date() if standing.handed_in_at else None
        if handed_on is not None and handed_on <= due:
            return "on_time", 0
        return "late", (handed_on - due).days if handed_on else 0
    if standing.state == "returned":
        return "returned", 0
    if due < reckoned_on:
        return "overdue", (reckoned_on - due).days
    return "not_yet_due", 0


# ── ranking ──────────────────────────────────────────────────────────────────────────────────────


def _badness(t: Counter) -> tuple[int, int, int, int]:
    """What ranks a unit, most first: overdue items, days overdue in all, returned items, late ones."""
    return t["overdue"], t["days_overdue"], t["returned"], t["late"]


def rank_units(tallies: dict[str, Counter], names: dict[str, str]) -> tuple[UnitStanding, ...]:
    """Worst first (see the module's docstring); ties share a rank (1, 1, 3) and are listed by unit id."""
    ordered = sorted(tallies.items(), key=lambda kv: (tuple(-n for n in _badness(kv[1])), kv[0]))
    standings: list[UnitStanding] = []
    previous = None
    for position, (unit_id, t) in enumerate(ordered, 1):
        rank = standings[-1].rank if standings and _badness(t) == previous else position
        previous = _badness(t)
        standings.append(UnitStanding(
            rank=rank, unit_id=unit_id, unit_name=names.get(unit_id, unit_id), items=sum(t[o] for o in OUTCOMES),
            **{o: t[o] for o in OUTCOMES}, days_overdue=t["days_overdue"], most_days_overdue=t["most_days_overdue"]))
    return tuple(standings)


def worst_items(overdue: list[OverdueItem], standings: tuple[UnitStanding, ...],
                limit: int) -> tuple[tuple[UnitItems, ...], int]:
    """The ``limit`` overdue items with the most days overdue, grouped by unit (units in rank order, each unit's
    items most days overdue first); and how many overdue items were left off."""
    chosen = sorted(overdue, key=lambda i: (-i.days_overdue, i.unit_id, i.plan_id, i.ref))[:max(limit, 0)]
    by_unit: dict[str, list[OverdueItem]] = defaultdict(list)
    for item in chosen:
        by_unit[item.unit_id].append(item)
    groups = tuple(UnitItems(s.rank, s.unit_id, s.unit_name, tuple(by_unit[s.unit_id]))
                   for s in standings if s.unit_id in by_unit)
    return groups, len(overdue) - len(chosen)


# ── JSON ─────────────────────────────────────────────────────────────────────────────────────────


def _tally_json(t: Tally) -> dict[str, Any]:
    return {**{f.name: getattr(t, f.name) for f in fields(Tally)}, "scored": t.scored, "on_time_rate": t.on_time_rate}


def bulletin_to_json(b: Bulletin) -> dict[str, Any]:
    """Plain JSON types: dates as ISO strings, the rate as a fraction, None where there is nothing to rate."""
    return {
        "title": b.title,
        "period": {"start": b.period.start.isoformat(), "end": b.period.end.isoformat(), "key": b.period.key,
                   "label": b.period.label},
        "as_of": b.as_of.isoformat(),
        "ended": b.ended,
        "plans": list(b.plan_names),
        "units": [{"rank": u.rank, "unit_id": u.unit_id, "unit_name": u.unit_name, **_tally_json(u)} for u in b.units],
        "totals": _tally_json(b.totals),
        "worst": [{"rank": g.rank, "unit_id": g.unit_id, "unit_name": g.unit_name,
                   "items": [{**item.__dict__, "original_due": item.original_due.isoformat(),
                              "due": item.due.isoformat()} for item in g.items]} for g in b.worst],
        "overdue_not_listed": b.overdue_not_listed,
    }


# ── the monthly notice ───────────────────────────────────────────────────────────────────────────

BULLETIN_AUDIENCE = "leader,deputies,office"


def bulletin_key(period: Period) -> str:
    """bulletin:2020-03: one notice per month covered."""
    return f"bulletin:{period.key}"


def period_of_key(key: str) -> Period:
    """The period a bulletin notice covers, from its key."""
    return parse_period(key.partition(":")[2])


def queue_monthly_bulletin(session_factory: SessionFactory, *, now: datetime, today: date) -> int:
    """Owe the office and the leaders the bulletin of the month before ``today`` (a notice of kind ``bulletin``, key
    ``bulletin:<YYYY-MM>``), on a working day: the month's first, or a later one when the first was missed. Once per
    month, however often this runs: the key is inserted with conflicts ignored, and after downtime only the last
    month's is written. None for a month no open plan ran in, nor for one with nothing to report (as an empty digest
    is not sent). What the mail says is computed when it is rendered, as of the month's close. Returns 1 if new."""
    period = previous_month(today)
    key = bulletin_key(period)
    with read_session(session_factory) as session:
        day = session.get(CalendarDay, today)
        if day is None or not day.working:
            return 0
        if not any(p.start <= period.end and period.start <= p.end for p in open_plans(session)):
            return 0
        if session.scalar(select(Notice.id).where(Notice.dedupe_key == key)) is not None:
            return 0
        if compile_bulletin(session, period=period, today=today, worst=0).empty:
            return 0
    query = select(literal(key, String).label("dedupe_key"), literal("bulletin").label("kind"),
                   literal(0).label("level"), literal(BULLETIN_AUDIENCE).label("audience"),
                   literal(None, Integer).label("deliverable_id"), literal(None, String).label("obligation_id"),
                   literal(None, String).label("unit_id"), literal(today, Date).label("owed_on"),
                   literal(now, Notice.created_at.type).label("created_at"), literal("pending").label("status"),
                   literal(0).label("attempts"), literal(None, String).label("plan_id")).where(true())
    with session_factory.begin() as session:
        return insert_notices_ignoring_conflicts(session, query)
