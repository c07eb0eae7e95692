"""The read side of the web pages and the API: the office's dashboard and a unit's workspace, in SQL.

The traffic light is computed by the database (a CASE over state and due date, with the due-soon window
turned into a date first, ``lights``). The matrix of units × lights reads counts the database keeps (``lights``
for the day, ``deliverable_counts`` by state, ``deliverable_plan_counts`` for one plan) and shows one page of
units; every list is one page of rows, whatever the number of deliverables. The walls are those of ``queries``:
a unit's user sees its own work (and what it cooperates on), never another unit's; the dashboard is the office's
and the leaders'.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Generic, Mapping, NamedTuple, Sequence, TypeVar

from sqlalchemy import (
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.deadlines.rules import KINDS  # the deadline kinds a filter takes: the rules' own
from responsibilities.errors import InvalidInput, NotFound
from responsibilities.limits import is_clean_key
from responsibilities.plan.deliverables import qualified_ref
from responsibilities.reading import lights
from responsibilities.storage.db import read_session
from responsibilities.storage.model import (
    FAILED_OR_REFUSED,
    STATES,
    AuditRecord,
    CoUnit,
    Deliverable,
    DeliverableCount,
    DeliverablePlanCount,
    EventRecord,
    Extension,
    LightsDay,
    Notice,
    ObligationRecord,
    PlanRecord,
    UnitLights,
    UnitRecord,
)
from responsibilities.storage.plans import no_such_plan
from responsibilities.tracking.access import find_obligation, require_overview, viewing_user
from responsibilities.vocabulary import DEADLINE_KIND_NAMES, STATE_NAMES

SessionFactory = sessionmaker[Session]
T = TypeVar("T")
LIGHTS = lights.LIGHTS
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters; None means any."""

    unit: str | None = None
    kind: str | None = None
    state: str | None = None
    due_within_days: int | None = None  # open or returned, due from today to today + N days
    plan: str | None = None  # one plan's items (a plan's id); None: every plan's

    def check(self) -> "Filters":
        if self.kind is not None and self.kind not in KINDS:
            raise InvalidInput(f"没有“{self.kind[:40]}”这种期限类型:可选 " + "、".join(
                f"{k}({DEADLINE_KIND_NAMES[k]})" for k in KINDS))
        if self.state is not None and self.state not in STATES:
            raise InvalidInput(f"没有“{self.state[:40]}”这种状态:可选 " + "、".join(
                f"{s}({STATE_NAMES[s]})" for s in STATES))
        if self.due_within_days is not None and not 0 <= self.due_within_days <= 3660:
            raise InvalidInput("“N 天内到期”的 N 须在 0 至 3660 之间")
        if self.plan is not None and not is_clean_key(self.plan, limit=64):
            raise NotFound("没有这个工作方案:`duban plan list` 可列出全部方案")
        return self

    @property
    def by_unit_at_most(self) -> bool:
        """No filter but the unit: what the lights the database keeps for the day can answer (they count every
        plan's items; one plan's come from its kept counts, ``deliverable_plan_counts``)."""
        return self.kind is None and self.state is None and self.due_within_days is None and self.plan is None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max((self.total + self.size - 1) // self.size, 1)

    def as_json(self, item=lambda x: x) -> dict[str, Any]:
        return {"items": [item(i) for i in self.items], "total": self.total, "page": self.page,
                "size": self.size, "pages": self.pages}


@dataclass(frozen=True)
class Row:
    """One deliverable in a list."""

    ref: str
    obligation: str
    unit: str
    unit_name: str
    task: str
    kind: str
    period: str
    due: date | None
    original_due: date | None
    state: str
    light: str
    days_overdue: int
    version: int
    cooperating: bool = False
    returned_reason: str | None = None
    extension_requested: date | None = None
    plan: str = ""  # the plan's id: a ref is unique within its plan
    plan_name: str = ""

    @property
    def qualified_ref(self) -> str:
        """<plan>:<ref>, the reference links use: it names one deliverable however many plans there are."""
        return qualified_ref(self.plan, self.ref)

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("due", "original_due", "extension_requested"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


@dataclass(frozen=True)
class MatrixRow:
    unit: str
    unit_name: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Board:
    """The matrix's page of units (worst first: most red, then most yellow) and the totals over every unit."""

    today: date
    matrix: Page[MatrixRow]
    totals: dict[str, int]


# The lists' statements are built once per list and shape (which filters apply) and run with these parameters:
# on a page of 50 rows, building a statement costs more than the database takes to answer it.
TODAY, SOON_BEFORE = bindparam("today", type_=Date), bindparam("soon_before", type_=Date)
UNIT, KIND, STATE, PLAN = (bindparam(name, type_=String) for name in ("unit", "kind", "state", "plan"))
WITHIN_END = bindparam("within_end", type_=Date)  # the last day of "due within N days"
OFFSET, LIMIT, END = (bindparam(name, type_=Integer) for name in ("offset", "limit", "end"))  # END = OFFSET + LIMIT
LIGHT = lights.light_of(TODAY, SOON_BEFORE)  # rules.light on the day the parameters name


def _params(session: Session, today: date, filters: Filters = Filters()) -> dict[str, Any]:
    """The values of the parameters above, for ``today`` and ``filters``."""
    within = filters.due_within_days
    if filters.plan is not None and session.get(PlanRecord, filters.plan) is None:
        raise no_such_plan(filters.plan)
    return {"today": today, "soon_before": lights.soon_before(session, today), "unit": filters.unit,
            "kind": filters.kind, "state": filters.state, "plan": filters.plan,
            "within_end": today + timedelta(days=within) if within is not None else None}


def _shape(filters: Filters) -> tuple[bool, bool, bool, bool, bool]:
    return (filters.unit is not None, filters.kind is not None, filters.state is not None,
            filters.due_within_days is not None, filters.plan is not None)


def _current() -> Any:
    """A current deliverable. Retiring an obligation retires its deliverables in the same transaction
    (plan_sync), so the deliverable's own flag suffices: no lookup of its obligation for every row."""
    return Deliverable.retired.is_(False)


def _filtered(query: Select, shape: tuple[bool, bool, bool, bool, bool]) -> Select:
    by_unit, by_kind, by_state, by_due, by_plan = shape
    if by_plan:
        query = query.where(Deliverable.plan_id == PLAN)
    if by_unit:
        query = query.where(Deliverable.unit_id == UNIT)
    if by_kind:
        query = query.where(Deliverable.obligation_id.in_(
            select(ObligationRecord.id).where(ObligationRecord.kind == KIND)))
    if by_state:
        query = query.where(Deliverable.state == STATE)
    if by_due:
        query = query.where(Deliverable.state.in_(lights.UNDECIDED), Deliverable.due >= TODAY,
                            Deliverable.due <= WITHIN_END)
    return query


@dataclass(frozen=True)
class Dashboard:
    """Everything on the office's dashboard."""

    board: Board
    overdue: Page[Row]
    reviews: Page[Row]
    extensions: Page[Row]
    failed: Page[dict[str, Any]]
    events: list[dict[str, Any]]
    waiting: Page[dict[str, Any]]


def dashboard(session_factory: SessionFactory, *, today: date, viewer: str | None, filters: Filters = Filters(),
              pages: Mapping[str, int] | None = None) -> Dashboard:
    """The office's dashboard in one read: the matrix, the overdue list and the review queue (filtered), the
    extension requests, the notices that failed, the events not recorded, the obligations waiting for the
    office. ``pages``: the page of each list shown, by its field's name here (board, overdue, …; 1 if not named)."""
    filters.check()
    pages = pages or {}

    def page_of(name: str) -> tuple[int, int]:
        return _page_bounds(pages.get(name, 1), PAGE_SIZE)

    with read_session(session_factory) as session:
        require_overview(session, viewer, filters.unit)
        params = _params(session, today, filters)
        matrix = _matrix(session, params, filters, *page_of("board"))
        return Dashboard(matrix, _overdue(session, filters, params, *page_of("overdue")),
                         _reviews(session, filters, params, *page_of("reviews")),
                         _page(session, _extension_listing(), params, *page_of("extensions")),
                         _failed(session, *page_of("failed"), filters.plan), _unrecorded(session),
                         _waiting_page(session, None, *page_of("waiting")))


def board(session_factory: SessionFactory, *, today: date, viewer: str | None, filters: Filters = Filters(),
          page: int = 1, size: int = PAGE_SIZE) -> Board:
    """Units × lights with counts, one page of units, worst first.

    Unfiltered or by unit: from the lights the database keeps as of a day (``lights``), when the day's sweep
    has moved them to ``today``; before it has, from those of the day kept, moved to ``today`` in the read (only
    the deliverables whose light differs between the two days counted; a read never writes); with no day kept
    (before the first sweep), from the per-state counts as below.
    By state, or one plan's: from the per-(unit, state, dated) counts it keeps (per plan, for one plan), with only
    the date-dependent part counted on the index. By kind or due date: one GROUP BY over the deliverables
    (``board_by_aggregate``).
    """
    filters.check()
    page, size = _page_bounds(page, size)

    with read_session(session_factory) as session:
        require_overview(session, viewer, filters.unit)
        return _matrix(session, _params(session, today, filters), filters, page, size)


def board_by_aggregate(session_factory: SessionFactory, *, today: date, viewer: str | None,
                       filters: Filters = Filters(), page: int = 1, size: int = PAGE_SIZE) -> Board:
    """The same matrix by the straightforward computation: one GROUP BY over every current deliverable's light.
    What the kept counts must always equal; ``board`` takes this way itself for a filter by kind or due date."""
    filters.check()
    page, size = _page_bounds(page, size)
    with read_session(session_factory) as session:
        require_overview(session, viewer, filters.unit)
        params = _params(session, today, filters)
        return _matrix_page(session, today, _with_waiting([_aggregate_part(filters)], filters), params, page, size)


def _matrix(session: Session, params: dict[str, Any], filters: Filters, page: int, size: int) -> Board:
    """The matrix (see ``board``): from the kept lights when the filter allows and a day is kept."""
    today = params["today"]
    kept = session.get(LightsDay, 1) if filters.by_unit_at_most else None
    if kept is not None:
        return _lit_matrix_page(session, params, filters, page, size, (kept.today, kept.soon_before))
    return _matrix_page(session, today, _counted_parts(filters), params, page, size)


def _lights_current(session: Session, params: dict[str, Any]) -> bool:
    return lights.current(session, params["today"], params["soon_before"])


def _counted_parts(filters: Filters) -> list[Select]:
    if filters.kind is not None or filters.due_within_days is not None:
        return _with_waiting([_aggregate_part(filters)], filters)
    return _with_waiting(_kept_parts(filters), filters)


def _with_waiting(parts: list[Select], filters: Filters) -> list[Select]:
    """Obligations waiting for an event or a date are grey for their unit, unless a filter leaves them out."""
    if filters.state is None and filters.due_within_days is None:
        return [*parts, _waiting_per_unit(filters.unit is not None, filters.kind is not None,
                                          filters.plan is not None)]
    return parts


def _zero(*names: str) -> list[Any]:
    return [literal(0).label(name) for name in names]


def _matrix_page(session: Session, today: date, parts: list[Select], params: dict[str, Any], page: int,
                 size: int) -> Board:
    """One page of units, worst first, and the totals over every unit, from ``parts``: selects of (unit_id, red,
    yellow, green, grey), several rows per unit possibly, summed here. The database sorts and sums; only the
    page's rows come back (thousands of rows cost more to fetch than to sum)."""
    union = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("parts")
    per_unit = (select(union.c.unit_id, *(func.sum(union.c[c]).label(c) for c in LIGHTS))
                .group_by(union.c.unit_id).having(sum(func.sum(union.c[c]) for c in LIGHTS) > 0).subquery("per_unit"))
    counts = [per_unit.c[c] for c in LIGHTS]
    over = [func.count().over(), *(func.sum(c).over() for c in counts)]
    found = session.execute(select(per_unit.c.unit_id, *counts, *over)
                            .order_by(per_unit.c.red.desc(), per_unit.c.yellow.desc(),
                                      _byte_order(session.get_bind().dialect.name, per_unit.c.unit_id))
                            .offset((page - 1) * size).limit(size), params).all()
    if found:
        units, *sums = found[0][len(LIGHTS) + 1:]
    else:  # past the last page: the totals on their own
        units, *sums = session.execute(select(func.count(), *(func.sum(c) for c in counts)), params).one()
    names = _unit_names(session, {r[0] for r in found})
    rows = [MatrixRow(row[0], names.get(row[0], row[0]), {c: int(n) for c, n in zip(LIGHTS, row[1:], strict=False)})
            for row in found]
    return Board(today, Page(rows, units, page, size), {c: int(n or 0) for c, n in zip(LIGHTS, sums, strict=True)})


def _byte_order(dialect: str, column: Any) -> Any:
    """``column`` ordered as Python orders strings: PostgreSQL's collation may not (en_US ignores "-"), and the
    pages of the matrix would then overlap or skip units where Python merges them."""
    return column.collate("C") if dialect == "postgresql" else column


def _lit_matrix_page(session: Session, day: dict[str, Any], filters: Filters, page: int, size: int,
                     kept: tuple[date, date]) -> Board:
    """What ``_matrix_page`` gives, from the lights the database keeps (one row per unit, ``lights``) for the day
    ``kept`` (today and its due-soon day): when they are today's, the top of the order and the sums straight from
    ``unit_lights``, no grouping; when they are another day's (the day's sweep has not moved them yet), each unit's
    plus the change of its deliverables whose light differs between the two days, as ``lights.move`` would count
    it. Obligations waiting for an event or a date (a few) add to their unit's grey; a unit that has only those
    comes in with no red or yellow."""
    today = day["today"]
    moved = kept != (today, day["soon_before"])
    totals_of, top_of, lit_of_waiting = _lit_statements(filters.unit is not None, session.get_bind().dialect.name,
                                                        moved)
    params = {"unit": filters.unit, "end": page * size}
    if moved:
        params.update(today=today, soon_before=day["soon_before"], kept_today=kept[0], kept_soon_before=kept[1],
                      moved_from=min(kept[0], today), moved_to=max(kept[1], day["soon_before"]))
    waiting = {unit: grey for unit, *_, grey in session.execute(_waiting_per_unit(filters.unit is not None, False),
                                                                params)}
    units, *sums = session.execute(totals_of, params).one()
    lit_and_waiting = set(session.scalars(lit_of_waiting, params)) if waiting else set()
    only_waiting = [(unit, 0, 0, 0, 0, None) for unit in waiting if unit not in lit_and_waiting]
    # the first page × size of the whole order are among the first page × size of each part
    top = session.execute(top_of, params).all()
    shown = sorted([*top, *only_waiting], key=lambda r: (-r[1], -r[2], r[0]))[(page - 1) * size:page * size]
    names = _unit_names(session, {r[0] for r in shown if r[-1] is None})  # units with only waiting obligations
    rows = [MatrixRow(unit, name or names.get(unit, unit), {"red": red, "yellow": yellow, "green": green,
                                                            "grey": grey + waiting.get(unit, 0)})
            for unit, red, yellow, green, grey, name in shown]
    totals = {c: int(n or 0) for c, n in zip(LIGHTS, sums, strict=True)}
    totals["grey"] += sum(waiting.values())
    return Board(today, Page(rows, units + len(only_waiting), page, size), totals)


@functools.cache
def _lit_statements(by_unit: bool, dialect: str, moved: bool = False) -> tuple[Select, Select, Select]:
    """The kept lights' totals, their first ``end`` units in the matrix's order with their names, and which of
    the units with waiting obligations have lights (``moved``: the kept lights of another day, ``_moved_lights``)."""
    u = (_moved_lights(by_unit) if moved else UnitLights.__table__).c
    lit = select(u.unit_id, u.red, u.yellow, u.green, u.grey).where(u.red + u.yellow + u.green + u.grey > 0)
    if by_unit:
        lit = lit.where(u.unit_id == UNIT)
    listed = lit.subquery("listed")
    top = lit.order_by(u.red.desc(), u.yellow.desc(), _byte_order(dialect, u.unit_id)).limit(END).subquery("top")
    named = (select(*top.c, UnitRecord.short_name).join_from(top, UnitRecord, UnitRecord.id == top.c.unit_id,
                                                             isouter=True)
             .order_by(top.c.red.desc(), top.c.yellow.desc(), _byte_order(dialect, top.c.unit_id)))
    waiting = _waiting_per_unit(by_unit, False).with_only_columns(ObligationRecord.lead_unit_id)
    return (select(func.count(), *(func.sum(listed.c[c]) for c in LIGHTS)), named,
            lit.with_only_columns(u.unit_id).where(u.unit_id.in_(waiting)))


# The day the kept lights are for, and the span of due dates where a light differs between that day and today.
KEPT_TODAY, KEPT_SOON_BEFORE = bindparam("kept_today", type_=Date), bindparam("kept_soon_before", type_=Date)
MOVED_FROM, MOVED_TO = bindparam("moved_from", type_=Date), bindparam("moved_to", type_=Date)


def _moved_lights(by_unit: bool) -> Any:
    """Each unit's kept lights moved from the day kept to today, read-only: the kept counts plus, per unit, the
    deliverables whose light differs between the two days (``lights.move`` counts the same ones: undecided, due
    from the earlier day to before the later due-soon day; a few thousand index entries for a day's step)."""
    was, now = lights.band(KEPT_TODAY, KEPT_SOON_BEFORE), lights.band(TODAY, SOON_BEFORE)
    change = (select(Deliverable.unit_id, *(func.sum(case((now == c, 1), else_=0) - case((was == c, 1), else_=0))
                                            .label(c) for c in LIGHTS[:3]))
              .where(Deliverable.state.in_(lights.UNDECIDED), Deliverable.due >= MOVED_FROM,
                     Deliverable.due < MOVED_TO, _current()).group_by(Deliverable.unit_id))
    if by_unit:
        change = change.where(Deliverable.unit_id == UNIT)
    change = change.subquery("change")
    kept = UnitLights.__table__
    return (select(kept.c.unit_id, *((kept.c[c] + func.coalesce(change.c[c], 0)).label(c) for c in LIGHTS[:3]),
                   kept.c.grey)
            .join_from(kept, change, change.c.unit_id == kept.c.unit_id, isouter=True).subquery("moved"))


def _aggregate_part(filters: Filters) -> Select:
    """Every current deliverable's light, counted: one pass over the deliverables."""
    lit = _filtered(select(Deliverable.unit_id, LIGHT.label("light")).where(_current()),
                    _shape(filters)).subquery("lit")
    return select(lit.c.unit_id, *(func.count(case((lit.c.light == c, 1))).label(c) for c in LIGHTS)
                  ).group_by(lit.c.unit_id)


def _kept_parts(filters: Filters) -> list[Select]:
    """The same counts as ``_aggregate_part``, from the per-(unit, state, dated) counts the database keeps (those of
    the plan, for one plan: its units' counts in key order, not every deliverable of the plan).

    accepted, waived → green; submitted → yellow; open or returned without a date → grey: fixed by the state.
    Open or returned with a date: red before today, yellow before the due-soon day, green after; only those due
    before the due-soon day are counted here (an index range, no table rows), the green ones are the rest.
    """
    c = DeliverablePlanCount if filters.plan is not None else DeliverableCount
    undecided = c.state.in_(lights.UNDECIDED)

    def total(condition) -> Any:
        return func.sum(case((condition, c.n), else_=0))

    # open or returned with a date count green here, less those due before the due-soon day (the next part)
    kept = select(c.unit_id, *_zero("red"), total(c.state == "submitted").label("yellow"),
                  total(c.state.in_(("accepted", "waived")) | (undecided & c.dated.is_(True))).label("green"),
                  total(undecided & c.dated.is_(False)).label("grey")).group_by(c.unit_id)
    late = Deliverable.due < TODAY
    dated = select(Deliverable.unit_id, func.sum(case((late, 1), else_=0)).label("red"),
                   func.sum(case((late, 0), else_=1)).label("yellow"), (-func.count()).label("green"),
                   *_zero("grey")).where(Deliverable.state.in_(lights.UNDECIDED), Deliverable.due < SOON_BEFORE,
                                         _current()).group_by(Deliverable.unit_id)
    if filters.plan is not None:
        kept = kept.where(c.plan_id == PLAN)
        dated = dated.where(Deliverable.plan_id == PLAN)
    if filters.unit is not None:
        kept = kept.where(c.unit_id == UNIT)
        dated = dated.where(Deliverable.unit_id == UNIT)
    if filters.state is not None:
        kept = kept.where(c.state == STATE)
        dated = dated.where(Deliverable.state == STATE)
    return [kept] if filters.state not in (None, "open", "returned") else [kept, dated]


@functools.cache
def _waiting_query(by_unit: bool, by_kind: bool, by_plan: bool = False) -> Select:
    """Obligations with no deliverable yet: waiting for an event the office records, or a date it sets (the
    parameters ``unit`` and ``kind`` filter them, when named)."""
    dated = exists().where(Deliverable.obligation_id == ObligationRecord.id, Deliverable.retired.is_(False))
    query = select(ObligationRecord).where(ObligationRecord.kind.in_(("after_event", "external")),
                                           ObligationRecord.retired_at.is_(None), ~dated)
    if by_unit:
        query = query.where(ObligationRecord.lead_unit_id == UNIT)
    if by_kind:
        query = query.where(ObligationRecord.kind == KIND)
    if by_plan:
        query = query.where(ObligationRecord.plan_id == PLAN)
    return query


@functools.cache
def _waiting_per_unit(by_unit: bool, by_kind: bool, by_plan: bool = False) -> Select:
    """How many obligations wait, per unit: grey in the matrix."""
    return _waiting_query(by_unit, by_kind, by_plan).with_only_columns(
        ObligationRecord.lead_unit_id.label("unit_id"), *_zero("red", "yellow", "green"),
        func.count().label("grey")).group_by(ObligationRecord.lead_unit_id)


def _page_bounds(page: int, size: int) -> tuple[int, int]:
    if page < 1:
        raise InvalidInput("page numbers start at 1")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE_SIZE} items")
    return page, size


class _Listing(NamedTuple):
    """A list's statements: how many rows it has, and one page of them (OFFSET, LIMIT and END as parameters)."""

    count: Select
    rows: Select


def _listing(query: Select, order: Sequence[Any], ids: Select | None = None) -> _Listing:
    """The statements of the list of deliverables ``query`` selects (by id), in ``order``; ``ids``: the page's
    ids, when the list finds them its own way."""
    if ids is None:
        ids = query.with_only_columns(Deliverable.id).order_by(*order).offset(OFFSET).limit(LIMIT)
    return _Listing(query.with_only_columns(func.count()).order_by(None), _rows_select(ids, order))


def _rows_select(ids: Select, order: Sequence[Any]) -> Select:
    """The columns shown for the deliverables ``ids`` selects (one page: ordered and limited), in ``order``.

    The page's ids are found on deliverables alone (their indexes), and only their rows are joined to their
    obligation and unit. The latest reason for a return and a pending extension request come in the same
    statement, each from its own index."""
    reason = (select(AuditRecord.note).where(AuditRecord.deliverable_id == Deliverable.id,
                                             AuditRecord.action == "return")
              .order_by(AuditRecord.id.desc()).limit(1).scalar_subquery())
    requested = (select(Extension.requested_due).where(Extension.deliverable_id == Deliverable.id,
                                                       Extension.status == "pending").limit(1).scalar_subquery())
    return (select(Deliverable.ref, ObligationRecord.ref, Deliverable.unit_id, UnitRecord.short_name,
                   ObligationRecord.task, ObligationRecord.kind, Deliverable.period, Deliverable.due,
                   Deliverable.original_due, Deliverable.state, LIGHT, Deliverable.version,
                   case((Deliverable.state == "returned", reason)), requested, Deliverable.plan_id,
                   func.coalesce(PlanRecord.short_name, PlanRecord.title))
            .join(ObligationRecord, Deliverable.obligation_id == ObligationRecord.id)
            .join(UnitRecord, UnitRecord.id == Deliverable.unit_id)
            .join(PlanRecord, PlanRecord.id == Deliverable.plan_id)
            .where(Deliverable.id.in_(ids)).order_by(*order))


def _page(session: Session, listing: _Listing, params: dict[str, Any], page: int, size: int, *,
          total: int | None = None, cooperating_for: str | None = None) -> Page[Row]:
    """One page of a list. ``total``: the count, when the caller knows it without counting."""
    page, size = _page_bounds(page, size)
    if total is None:
        total = session.scalar(listing.count, params) or 0
    return Page(_rows(session, listing, params, page, size, cooperating_for), total, page, size)


def _rows(session: Session, listing: _Listing, params: dict[str, Any], page: int, size: int,
          cooperating_for: str | None = None) -> list[Row]:
    today = params["today"]
    found = session.execute(listing.rows, {**params, "offset": (page - 1) * size, "limit": size, "end": page * size})
    return [Row(ref, obligation, unit, unit_name, task, kind, period, due, original_due, state, colour,
                max((today - due).days, 0) if due and state in lights.UNDECIDED else 0, version,
                cooperating=cooperating_for is not None and unit != cooperating_for,
                returned_reason=returned_reason, extension_requested=extension_requested, plan=plan,
                plan_name=plan_name)
            for ref, obligation, unit, unit_name, task, kind, period, due, original_due, state, colour, version,
            returned_reason, extension_requested, plan, plan_name in found]


def _base() -> Select:
    return select(Deliverable.id).where(_current())


def overdue(session_factory: SessionFactory, *, today: date, viewer: str | None, filters: Filters = Filters(),
            page: int = 1, size: int = PAGE_SIZE) -> Page[Row]:
    """Open or returned deliverables past their due date, the most days overdue first (then by unit)."""
    filters.check()
    with read_session(session_factory) as session:
        require_overview(session, viewer)
        return _overdue(session, filters, _params(session, today, filters), page, size)


def _overdue(session: Session, filters: Filters, params: dict[str, Any], page: int, size: int) -> Page[Row]:
    """Counted from the red lights the database keeps, when they are today's and no filter but the unit applies."""
    return _page(session, _overdue_listing(_shape(filters)), params, page, size,
                 total=_kept_red(session, params, filters))


@functools.cache
def _overdue_listing(shape: tuple[bool, bool, bool, bool, bool]) -> _Listing:
    """The page's ids come from each state's own walk of the (state, due, …) index in its order, merged: an
    ``IN`` of both states would sort every overdue deliverable for one page."""
    late = _filtered(_base(), shape).where(Deliverable.due < TODAY)
    order = (Deliverable.due, Deliverable.unit_id, Deliverable.ref)
    each = union_all(*(late.where(Deliverable.state == state).with_only_columns(Deliverable.id, *order)
                       .order_by(*order).limit(END).subquery().select()
                       for state in lights.UNDECIDED)).subquery("late")
    ids = select(each.c.id).order_by(each.c.due, each.c.unit_id, each.c.ref).offset(OFFSET).limit(LIMIT)
    return _listing(late.where(Deliverable.state.in_(lights.UNDECIDED)), order, ids)


def _kept_red(session: Session, params: dict[str, Any], filters: Filters) -> int | None:
    """How many deliverables are overdue (red), from the kept lights, if they can say: None if not."""
    if not filters.by_unit_at_most or not _lights_current(session, params):
        return None
    red = select(func.coalesce(func.sum(UnitLights.red), 0))
    return session.scalar(red.where(UnitLights.unit_id == filters.unit) if filters.unit is not None else red)


def review_queue(session_factory: SessionFactory, *, today: date, viewer: str | None, filters: Filters = Filters(),
                 page: int = 1, size: int = PAGE_SIZE) -> Page[Row]:
    """Submitted deliverables waiting for the office: accept (销号) or return (退回), the longest waiting first."""
    filters.check()
    with read_session(session_factory) as session:
        require_overview(session, viewer)
        return _reviews(session, filters, _params(session, today, filters), page, size)


def _reviews(session: Session, filters: Filters, params: dict[str, Any], page: int, size: int) -> Page[Row]:
    """Counted from the per-state counts the database keeps, when no filter but the unit (or this state) applies."""
    total = None
    if (filters.kind is None and filters.due_within_days is None and filters.plan is None
            and filters.state in (None, "submitted")):
        kept = select(func.coalesce(func.sum(DeliverableCount.n), 0)).where(DeliverableCount.state == "submitted")
        total = session.scalar(kept.where(DeliverableCount.unit_id == filters.unit)
                               if filters.unit is not None else kept)
    return _page(session, _review_listing(_shape(filters)), params, page, size, total=total)


@functools.cache
def _review_listing(shape: tuple[bool, bool, bool, bool, bool]) -> _Listing:
    return _listing(_filtered(_base(), shape).where(Deliverable.state == "submitted"),
                    (Deliverable.submitted_at, Deliverable.ref))


def extension_requests(session_factory: SessionFactory, *, today: date, viewer: str | None,
                       page: int = 1, size: int = PAGE_SIZE) -> Page[Row]:
    """Deliverables with an extension request waiting for the office's decision."""
    with read_session(session_factory) as session:
        require_overview(session, viewer)
        return _page(session, _extension_listing(), _params(session, today), page, size)


@functools.cache
def _extension_listing() -> _Listing:
    pending = select(Extension.deliverable_id).where(Extension.status == "pending")  # a few, not every deliverable
    return _listing(_base().where(Deliverable.id.in_(pending)), (Deliverable.due, Deliverable.ref))


def _waiting_page(session: Session, unit: str | None, page: int, size: int) -> Page[dict[str, Any]]:
    count, rows = _waiting_listing(unit is not None)
    params = {"unit": unit, "offset": (page - 1) * size, "limit": size}
    total = session.scalar(count, params) or 0
    if total <= (page - 1) * size:  # most units wait for nothing
        return Page([], total, page, size)
    found = session.execute(rows, params)
    items = [{"obligation": id_, "unit": unit, "unit_name": unit_name or unit, "task": task, "kind": kind,
              "deadline_text": deadline_text, "event": awaits, "event_name": event_name}
             for id_, unit, unit_name, task, kind, deadline_text, awaits, event_name in found]
    return Page(items, total, page, size)


@functools.cache
def _waiting_listing(by_unit: bool) -> tuple[Select, Select]:
    query, o = _waiting_query(by_unit, False), ObligationRecord
    return query.with_only_columns(func.count()), (
        query.with_only_columns(o.id, o.lead_unit_id, UnitRecord.short_name, o.task, o.kind, o.deadline_text,
                                o.awaits, EventRecord.name)
        .join_from(o, UnitRecord, UnitRecord.id == o.lead_unit_id, isouter=True)
        .join_from(o, EventRecord, EventRecord.id == o.awaits, isouter=True)
        .order_by(o.id).offset(OFFSET).limit(LIMIT))


def unrecorded_events(session_factory: SessionFactory, *, viewer: str | None) -> list[dict[str, Any]]:
    """Outside events not yet recorded, with how many obligations wait for each."""
    with read_session(session_factory) as session:
        require_overview(session, viewer)
        return _unrecorded(session)


def _unrecorded(session: Session) -> list[dict[str, Any]]:
    waiting = (select(func.count()).where(ObligationRecord.awaits == EventRecord.id,
                                          ObligationRecord.retired_at.is_(None)).scalar_subquery())
    return [{"event": e.id, "name": e.name, "text": e.text, "issued_by": e.issued_by, "waiting": n}
            for e, n in session.execute(select(EventRecord, waiting).where(EventRecord.occurred_on.is_(None))
                                        .order_by(EventRecord.id))]


def _unit_names(session: Session, ids: set[str | None]) -> dict[str, str]:
    """Short names of the units a page shows (not of every unit: there may be thousands)."""
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return dict(session.execute(select(UnitRecord.id, UnitRecord.short_name).where(UnitRecord.id.in_(wanted))).all())


def units_named(session_factory: SessionFactory, text: str, *, limit: int = 6) -> list[tuple[str, str]]:
    """Current units (id, short name) whose id, short name or full name is ``text``; failing that, those whose
    short name or full name contains it. The dashboard's unit field: with thousands of units the office types a
    name rather than picks from a list."""
    text = text.strip()
    if not text:
        return []
    base = select(UnitRecord.id, UnitRecord.short_name).where(UnitRecord.retired.is_(False)).order_by(UnitRecord.id)
    with read_session(session_factory) as session:
        exact = session.execute(base.where(or_(UnitRecord.id == text, UnitRecord.short_name == text,
                                               UnitRecord.name == text)).limit(limit)).all()
        if exact:
            return [tuple(r) for r in exact]
        partial = or_(UnitRecord.short_name.contains(text, autoescape=True),
                      UnitRecord.name.contains(text, autoescape=True))
        return [tuple(r) for r in session.execute(base.where(partial).limit(limit))]


def unit_choices(session_factory: SessionFactory, *, limit: int = 200) -> list[tuple[str, str]]:
    """Every current unit (id, short name) when there are at most ``limit``, for the unit field's suggestions;
    none when there are more (a list of thousands helps nobody)."""
    with read_session(session_factory) as session:
        found = session.execute(select(UnitRecord.id, UnitRecord.short_name).where(UnitRecord.retired.is_(False))
                                .order_by(UnitRecord.id).limit(limit + 1)).all()
    return [tuple(r) for r in found] if len(found) <= limit else []


def _notice_json(n: Notice, names: dict[str, str]) -> dict[str, Any]:
    return {"id": n.id, "kind": n.kind, "level": n.level, "audience": n.audience, "unit": n.unit_id,
            "unit_name": names.get(n.unit_id or "", n.unit_id), "owed_on": n.owed_on.isoformat(), "status": n.status,
            "attempts": n.attempts, "sent_at": n.sent_at.isoformat() if n.sent_at else None,
            "error": n.last_error, "refused": n.refused or {}, "dedupe_key": n.dedupe_key}


def failed_notices(session_factory: SessionFactory, *, viewer: str | None, page: int = 1,
                   size: int = PAGE_SIZE) -> Page[dict[str, Any]]:
    page, size = _page_bounds(page, size)
    with read_session(session_factory) as session:
        require_overview(session, viewer)
        return _failed(session, page, size)


def _failed(session: Session, page: int, size: int, plan: str | None = None) -> Page[dict[str, Any]]:
    """Notices that failed, and notices sent with some recipients refused for good (with the server's reply); with
    ``plan``, those about that plan's items (the digests, which span the plans, are the office's in every view)."""
    query = select(Notice).where(FAILED_OR_REFUSED)
    if plan is not None:
        of_plan = select(Deliverable.id).where(Deliverable.plan_id == plan)
        query = query.where(or_(Notice.plan_id == plan, Notice.deliverable_id.in_(of_plan),
                                and_(Notice.plan_id.is_(None), Notice.deliverable_id.is_(None))))
    total = session.scalar(query.with_only_columns(func.count())) or 0
    found = list(session.scalars(query.order_by(Notice.id.desc()).offset((page - 1) * size).limit(size)))
    names = _unit_names(session, {n.unit_id for n in found})
    return Page([_notice_json(n, names) for n in found], total, page, size)


def notices_about(session_factory: SessionFactory, *, deliverable_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """The notices sent (or owed) about one deliverable, newest first. The caller has checked who may see it."""
    with read_session(session_factory) as session:
        found = list(session.scalars(
            select(Notice).where(Notice.deliverable_id == deliverable_id).order_by(Notice.id.desc()).limit(limit)))
        names = _unit_names(session, {n.unit_id for n in found})
        return [_notice_json(n, names) for n in found]


def obligation(session_factory: SessionFactory, *, obligation_id: str, viewer: str | None,
               today: date) -> tuple[ObligationRecord, list[Row], EventRecord | None]:
    """One obligation with its deliverables, for its page (notices about an undated obligation link here)."""
    with read_session(session_factory) as session:
        user = viewing_user(session, viewer)
        record = find_obligation(session, obligation_id)
        # Another unit's task is, for a unit's user, not there: the same answer as an id that is not.
        hidden = record is not None and user is not None and user.role == "unit" and (
            user.unit_id != record.lead_unit_id and session.get(CoUnit, (record.id, user.unit_id)) is None)
        if record is None or record.retired_at is not None or hidden:
            raise NotFound(f"工作方案中没有编号为“{obligation_id}”的任务")
        rows = _page(session, _obligation_listing(), {**_params(session, today), "obligation": record.id}, 1,
                     MAX_PAGE_SIZE).items
        event = session.get(EventRecord, record.awaits) if record.awaits else None
        session.expunge_all()
        return record, rows, event


@functools.cache
def _obligation_listing() -> _Listing:
    return _listing(_base().where(Deliverable.obligation_id == bindparam("obligation", type_=String)),
                    (Deliverable.due, Deliverable.ref))
