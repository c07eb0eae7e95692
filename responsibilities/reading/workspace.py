"""A unit's workspace: what the unit must do now first, then what waits for the office, then the rest by month.

The page a unit's clerk opens on. Its items are the unit's open, returned and submitted deliverables, those it
leads apart from those it only cooperates on (配合), arranged by pure rules that take ``today`` and the plan's
working calendar (``arrange``, tested without a database):

- now (现在要办): overdue (most days overdue first), then returned for rework, then due within the next ten working
  days (by due date);
- waiting for review (等待审核): submitted, not yet accepted or returned by the office;
- later, by month, for the twelve months from this one; what falls after them is counted, not listed (the full
  list, ``workspace``, has every deliverable in every state, a page at a time); undated items on their own.

The read is bounded like the dashboard's lists (``board``): the unit's rows are found by the unit and co-unit
indexes, only the active states and due dates before the last month shown are fetched (at most
``SHOWN_AT_MOST``), and what lies beyond is one count.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable, NamedTuple

from sqlalchemy import Date, Select, bindparam, case, func, or_, select, union_all
from sqlalchemy.orm import Session

from responsibilities.deadlines.working_days import WorkingCalendar
from responsibilities.reading import lights
from responsibilities.reading.board import (
    LIMIT,
    OFFSET,
    PAGE_SIZE,
    STATE,
    UNIT,
    Filters,
    Page,
    Row,
    SessionFactory,
    _base,
    _Listing,
    _listing,
    _page,
    _params,
    _rows,
    _waiting_page,
)
from responsibilities.storage.db import read_session
from responsibilities.storage.model import CoUnit, Deliverable, UnitRecord
from responsibilities.storage.plans import require_plan
from responsibilities.tracking.access import viewing_user, visible_unit

NOW_WORKING_DAYS = 10  # "now" reaches this many working days ahead
MONTHS_SHOWN = 12  # later items are listed by month for this many months, this one included
SHOWN_AT_MOST = 1000  # active rows fetched for one workspace: a safety bound, far above what a unit has
TASK_SHOWN = 48  # characters of a task a row shows (the whole task is in the row's title)
ACTIVE = ("open", "returned", "submitted")  # the states a workspace shows; the full list has the others
WHY = ("overdue", "returned", "soon", "reviewing", "later", "undated")  # where an item stands, and why

HORIZON = bindparam("horizon", type_=Date)  # the first day after the months shown


# ── the arrangement: pure rules ──────────────────────────────────────────────────────────────────────────────


def soon_before(today: date, calendar: WorkingCalendar, working_days: int = NOW_WORKING_DAYS) -> date:
    """The first day not due within ``working_days`` working days of ``today`` (working days in (today, due])."""
    return calendar.add_working_days(today, working_days + 1)


def months_end(today: date, months: int = MONTHS_SHOWN) -> date:
    """The first day after the ``months`` calendar months that begin with ``today``'s."""
    years, month = divmod(today.month - 1 + months, 12)
    return date(today.year + years, month + 1, 1)


def why(row: Row, today: date, first_not_soon: date) -> str | None:
    """Where ``row`` belongs on the workspace (one of ``WHY``), or None for an item that is done."""
    if row.state == "submitted":
        return "reviewing"
    if row.state not in lights.UNDECIDED:
        return None
    if row.due is not None and row.due < today:
        return "overdue"
    if row.state == "returned":
        return "returned"
    if row.due is None:
        return "undated"
    return "soon" if row.due < first_not_soon else "later"


@functools.lru_cache(maxsize=4096)  # a task is the same for every period of its obligation
def short_task(text: str, limit: int = TASK_SHOWN) -> str:
    """The start of a task, for a row: whole if short; else, with an ellipsis, cut after the last sentence (。;)
    that ends past the middle of ``limit`` characters, or the last clause (,:) that does, or at ``limit``."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit]
    for marks in ("。;;", ",,::"):
        cut = max(head.rfind(mark) for mark in marks)
        if cut >= limit // 2:
            return head[:cut] + "…"
    return head.rstrip() + "…"


class Item(NamedTuple):
    """One deliverable on the workspace: its list row, why it stands where it does, and what its row shows (a
    tuple: a workspace may arrange a few hundred on every request)."""

    row: Row
    why: str  # one of WHY
    task: str  # the start of the task (``short_task``)
    title: str | None  # the whole task when ``task`` is cut, else None
    working_days_left: int | None = None  # due soon: working days until the due date (0: due today)
    plan_label: str | None = None  # the plan's short name, when the workspace spans several plans

    @classmethod
    def of(cls, row: Row, why: str, working_days_left: int | None = None, plan_label: str | None = None) -> "Item":
        task = short_task(row.task)
        return cls(row, why, task, row.task if task != row.task else None, working_days_left, plan_label)

    def as_json(self) -> dict[str, Any]:
        return {**self.row.as_json(), "why": self.why, "working_days_left": self.working_days_left,
                "plan_label": self.plan_label, "task_short": self.task}


@dataclass(frozen=True)
class Month:
    """The later items due in one calendar month."""

    first_day: date
    items: list[Item]

    @property
    def key(self) -> str:
        return self.first_day.strftime("%Y-%m")


@dataclass(frozen=True)
class Sections:
    """One side of a workspace (what the unit leads, or what it cooperates on), arranged."""

    now: list[Item] = field(default_factory=list)
    reviewing: list[Item] = field(default_factory=list)
    months: list[Month] = field(default_factory=list)  # the months that have items, in order
    undated: list[Item] = field(default_factory=list)
    beyond: int = 0  # later items due on or after ``months_end``: counted, not listed
    months_end: date | None = None

    @property
    def later(self) -> int:
        return sum(len(m.items) for m in self.months) + len(self.undated) + self.beyond

    @property
    def counts(self) -> dict[str, int]:
        """How many items are overdue, returned (and not overdue), due soon, waiting for review, and later."""
        now = [i.why for i in self.now]
        return {"overdue": now.count("overdue"), "returned": now.count("returned"), "soon": now.count("soon"),
                "reviewing": len(self.reviewing), "later": self.later}

    @property
    def empty(self) -> bool:
        return not (self.now or self.reviewing or self.later)

    def as_json(self) -> dict[str, Any]:
        return {"counts": self.counts, "now": [i.as_json() for i in self.now],
                "reviewing": [i.as_json() for i in self.reviewing],
                "later": [{"month": m.key, "count": len(m.items), "items": [i.as_json() for i in m.items]}
                          for m in self.months],
                "undated": [i.as_json() for i in self.undated],
                "beyond": {"from": self.months_end.isoformat() if self.months_end else None, "count": self.beyond}}


def arrange(rows: Iterable[Row], *, today: date, calendar: WorkingCalendar, beyond: int = 0,
            months: int = MONTHS_SHOWN, plan_labels: bool = False) -> Sections:
    """``rows`` in the workspace's sections as of ``today``. ``beyond``: later items already counted elsewhere
    (due after the months shown, not fetched); ``plan_labels``: label each item with its plan's short name."""
    first_not_soon, end = soon_before(today, calendar), months_end(today, months)
    by_why: dict[str, list[Item]] = {w: [] for w in WHY}
    for row in rows:
        where = why(row, today, first_not_soon)
        if where is None:
            continue
        if where == "later" and row.due is not None and row.due >= end:
            beyond += 1
            continue
        left = calendar.working_days_between(today, row.due) if where == "soon" and row.due is not None else None
        by_why[where].append(Item.of(row, where, left, row.plan_name or row.plan if plan_labels else None))

    def by_due(item: Item) -> tuple:
        return (item.row.due is None, item.row.due or today, item.row.ref)

    now = [*sorted(by_why["overdue"], key=by_due), *sorted(by_why["returned"], key=by_due),
           *sorted(by_why["soon"], key=by_due)]
    per_month: dict[date, list[Item]] = {}
    for item in sorted(by_why["later"], key=by_due):
        per_month.setdefault(item.row.due.replace(day=1), []).append(item)
    return Sections(now, sorted(by_why["reviewing"], key=by_due),
                    [Month(first, items) for first, items in per_month.items()],
                    sorted(by_why["undated"], key=by_due), beyond, end)


def arrange_workspace(rows: Iterable[Row], *, today: date, calendar: WorkingCalendar,
                      beyond: tuple[int, int] = (0, 0), months: int = MONTHS_SHOWN) -> tuple[Sections, Sections]:
    """What the unit leads and what it cooperates on (``Row.cooperating``), each arranged; never mixed. What a
    lead unit has handed in waits for the office, not for its co-units: off their workspace (the full list has
    it). Items carry their plan's label when the rows span several plans. ``beyond``: (lead, cooperating) counts
    after the months shown."""
    rows = list(rows)
    several = len({r.plan for r in rows}) > 1
    lead = arrange([r for r in rows if not r.cooperating], today=today, calendar=calendar, beyond=beyond[0],
                   months=months, plan_labels=several)
    cooperating = arrange([r for r in rows if r.cooperating and r.state != "submitted"], today=today,
                          calendar=calendar, beyond=beyond[1], months=months, plan_labels=several)
    return lead, cooperating


# ── the read ─────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class ListRequest:
    """One page of the full list of a unit's deliverables (every state, by due date), optionally in one state."""

    state: str | None = None
    page: int = 1
    size: int = PAGE_SIZE


@dataclass(frozen=True)
class Workspace:
    """A unit's workspace: what it leads and what it cooperates on, arranged; its obligations that wait for an
    event or a date (with the undated items); and, when asked, one page of its full list."""

    unit: str
    unit_name: str
    today: date
    now_until: date  # the last day of the next ten working days
    lead: Sections
    cooperating: Sections
    waiting: Page[dict[str, Any]]  # the unit's obligations with no deliverable yet
    truncated: bool = False  # more active rows than SHOWN_AT_MOST: the first ones are arranged
    listing: Page[Row] | None = None
    reports_figures: bool = False  # a region that owes the office's plan its monthly figures

    @property
    def counts(self) -> dict[str, int]:
        """The counts at the top of the page: the unit's own work (obligations waiting for a date count later)."""
        counts = self.lead.counts
        return {**counts, "later": counts["later"] + self.waiting.total}

    def sections_json(self) -> dict[str, Any]:
        return {"today": self.today.isoformat(), "now_until": self.now_until.isoformat(),
                "now_working_days": NOW_WORKING_DAYS, "counts": self.counts, "truncated": self.truncated,
                "lead": {**self.lead.as_json(), "waiting": self.waiting.items},
                "cooperating": self.cooperating.as_json()}


def unit_workspace(session_factory: SessionFactory, *, today: date, viewer: str | None, unit: str,
                   listing: ListRequest | None = None) -> Workspace:
    """The unit's workspace in one read (and one page of its full list, with ``listing``). A unit's user sees
    only its own unit's (``visible_unit``)."""
    if listing is not None:
        Filters(state=listing.state).check()
    with read_session(session_factory) as session:
        unit = visible_unit(session, viewing_user(session, viewer), unit)
        plan = require_plan(session)
        params = {"today": today, "soon_before": plan.soon_before(today), "unit": unit,
                  "horizon": months_end(today)}
        # Run on the session's connection (same transaction): the statement is plain Core columns, and a few hundred
        # rows go without the ORM's wrapping (board's _rows only executes it and unpacks the rows).
        rows = _rows(session.connection(), _active_listing(), params, 1, SHOWN_AT_MOST, cooperating_for=unit)
        beyond = session.execute(_beyond_counts(), params).one()
        lead, cooperating = arrange_workspace(rows, today=today, calendar=plan.calendar,
                                              beyond=(beyond[0] or 0, beyond[1] or 0))
        record = session.get(UnitRecord, unit)
        page = None
        if listing is not None:
            page = _page(session, _workspace_listing(listing.state is not None), {**params, "state": listing.state},
                         listing.page, listing.size, cooperating_for=unit)
        return Workspace(unit, record.short_name if record is not None else unit, today,
                         soon_before(today, plan.calendar) - timedelta(days=1), lead, cooperating,
                         _waiting_page(session, unit, 1, PAGE_SIZE), len(rows) >= SHOWN_AT_MOST, page,
                         plan.figures is not None and unit in plan.figures.regions)


def workspace(session_factory: SessionFactory, *, today: date, viewer: str | None, unit: str,
              state: str | None = None, page: int = 1, size: int = PAGE_SIZE) -> Page[Row]:
    """The full list: a unit's deliverables in every state by due date (and those it cooperates on, marked so)."""
    filters = Filters(state=state).check()
    with read_session(session_factory) as session:
        unit, params = _unit_params(session, today, viewer, unit, filters)
        return _page(session, _workspace_listing(state is not None), params, page, size, cooperating_for=unit)


def _unit_params(session: Session, today: date, viewer: str | None, unit: str,
                 filters: Filters) -> tuple[str, dict[str, Any]]:
    """The unit the viewer may see (refusing another unit's), and the parameters of its lists."""
    unit = visible_unit(session, viewing_user(session, viewer), unit)
    return unit, {**_params(session, today, filters), "unit": unit}


def _mine() -> Any:
    """The ids of the unit's deliverables and of those it cooperates on, each part found by its index."""
    cooperates = select(CoUnit.obligation_id).where(CoUnit.unit_id == UNIT)
    return union_all(select(Deliverable.id).where(Deliverable.unit_id == UNIT),
                     select(Deliverable.id).where(Deliverable.obligation_id.in_(cooperates)))


@functools.cache
def _workspace_listing(by_state: bool) -> _Listing:
    # The unit's own rows and those it cooperates on, each found by its index; the state filter then
    # applies to those few hundred rows (left to itself, SQLite may walk every row in that state instead).
    query = _base().where(Deliverable.id.in_(_mine()))
    if by_state:  # `state || ''` is not indexable: SQLite then keeps to the unit's rows
        query = query.where(Deliverable.state.concat("") == STATE)
    return _listing(query, (Deliverable.due.is_(None), Deliverable.due, Deliverable.ref))


@functools.cache
def _active_listing() -> _Listing:
    """The unit's open rows due before the last month shown (or undated), and its returned and submitted ones
    whatever their date (now, and waiting for review; not those its lead units have handed in: see
    ``arrange_workspace``); returned first, then by due date: what the limit cuts is the latest."""
    state = Deliverable.state.concat("")  # not indexable, as above: the unit's rows, then their states
    query = _base().where(Deliverable.id.in_(_mine()), state.in_(ACTIVE),
                          or_(Deliverable.due.is_(None), Deliverable.due < HORIZON, state != "open"),
                          or_(Deliverable.unit_id == UNIT, state != "submitted"))
    order = (case((Deliverable.state == "returned", 0), else_=1), Deliverable.due.is_(None), Deliverable.due,
             Deliverable.ref)
    ids = query.with_only_columns(Deliverable.id).order_by(*order).offset(OFFSET).limit(LIMIT)
    return _listing(query, (), ids)  # the rows in any order: ``arrange`` sorts them


@functools.cache
def _beyond_counts() -> Select:
    """How many open deliverables, the unit's own and those it cooperates on, fall after the months shown."""
    lead = Deliverable.unit_id == UNIT
    return (select(func.count(case((lead, 1))), func.count(case((~lead, 1))))
            .where(Deliverable.id.in_(_mine()), Deliverable.retired.is_(False), Deliverable.state.concat("") == "open",
                   Deliverable.due >= HORIZON))
