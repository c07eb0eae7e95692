"""Digests (摘要): a weekly summary for each unit and for the leaders, a daily one for the office.

A digest is a notice of kind ``digest``, written and delivered by the same machinery as the sweep's notices:
one row per digest and period under a dedupe key, inserted with conflicts ignored, so running the digests
twice, or twice at once, writes each one once. The row only says that a digest is owed; what it says is
computed from the data when it is rendered (``notifications.messages``), from the same status rows and lights
as ``duban status`` and with the same definitions as below, which decide here whether there is anything to say.

    digest:<unit>:<iso-year>-W<week>   a unit's week: overdue, due within two weeks, returned for rework
    digest:office:<YYYY-MM-DD>         the office's day: lights per unit, reviews, failed notices, missing dates
    digest:leaders:<iso-year>-W<week>  the leaders' week: red items and the units furthest behind

Digests fall on working days only. The weekly ones are owed from the first working day of the ISO week; any
later working day of that week writes those not yet written, so a scheduler that was down on Monday sends
them on Tuesday. (The same rule means a unit with nothing to report on Monday that has something later in
the week gets that week's digest then, still once.) After downtime only the current period's keys are
written: one digest, not one per missed period. An empty digest is not written at all.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Integer, String, func, literal, select, true
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Select

from responsibilities.errors import InvalidInput
from responsibilities.notices.outbox import insert_notices_ignoring_conflicts
from responsibilities.reading.queries import StatusRow, status_rows
from responsibilities.storage.db import read_session
from responsibilities.storage.model import CalendarDay, Notice, UnitRecord

KIND = "digest"
DIGESTS = ("unit", "office", "leaders")
IN_HAND = ("open", "returned", "submitted")  # a unit's deliverables still in hand (not accepted or waived)
DUE_SOON_DAYS = 14  # "due in the next two weeks": today to today + 14, calendar days
BEHIND_UNITS = 5  # the leaders' digest ranks this many units furthest behind
LEADERS_AUDIENCE = "leader,deputies"


# ── keys ────────────────────────────────────────────────────────────────────────────────────────


def iso_week(day: date) -> str:
    """2019-W44: the ISO year and week of ``day`` (the ISO year differs from the calendar year around 1 January)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def digest_key(digest: str, day: date, unit_id: str | None = None) -> str:
    if digest == "unit":
        return f"{KIND}:{unit_id}:{iso_week(day)}"
    if digest == "office":
        return f"{KIND}:office:{day.isoformat()}"
    if digest == "leaders":
        return f"{KIND}:leaders:{iso_week(day)}"
    raise ValueError(f"unknown digest {digest!r}")


def parse_key(key: str, unit_id: str | None = None) -> tuple[str, str]:
    """(digest, period) of a digest's dedupe key; a unit digest is the one with a unit (unit ids are free text)."""
    kind, _, rest = key.partition(":")
    who, _, period = rest.rpartition(":")
    if kind != KIND or not who or not period:
        raise ValueError(f"not a digest key: {key!r}")
    if unit_id is None and who in ("office", "leaders"):
        return who, period
    return "unit", period


def week_bounds(period: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week given as 2019-W44."""
    year, _, week = period.partition("-W")
    monday = date.fromisocalendar(int(year), int(week), 1)
    return monday, monday + timedelta(days=6)


# ── what a digest says, from the status rows ─────────────────────────────────────────────────────


def _overdue_first(rows: list[StatusRow]) -> list[StatusRow]:
    return sorted(rows, key=lambda r: (-r.days_overdue, r.unit, r.due or date.max, r.id))


@dataclass(frozen=True)
class UnitDigest:
    in_hand: list[StatusRow]  # open, returned or submitted: the unit's work not yet signed off
    overdue: list[StatusRow]  # red, most overdue first
    due_soon: list[StatusRow]  # in hand and due from today to today + DUE_SOON_DAYS, soonest first
    returned: list[StatusRow]  # returned for rework
    submitted: list[StatusRow]  # waiting for the office's review

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.due_soon or self.returned)


def unit_digest(rows: list[StatusRow], unit_id: str, today: date) -> UnitDigest:
    """A unit's week from status rows (its own lead deliverables; what it cooperates on is the lead's to report)."""
    mine = [r for r in rows if r.unit == unit_id and not r.cooperating and r.state in IN_HAND]
    horizon = today + timedelta(days=DUE_SOON_DAYS)
    return UnitDigest(
        in_hand=mine,
        overdue=_overdue_first([r for r in mine if r.light == "red"]),
        due_soon=sorted((r for r in mine if r.due is not None and today <= r.due <= horizon),
                        key=lambda r: (r.due, r.id)),
        returned=[r for r in mine if r.state == "returned"],
        submitted=[r for r in mine if r.state == "submitted"],
    )


@dataclass(frozen=True)
class OfficeDigest:
    lights: dict[str, dict[str, int]]  # unit id → light → count, units with any row
    red: list[StatusRow]
    reviews: list[StatusRow]  # submitted, waiting for review
    awaiting_event: list[StatusRow]  # after-event obligations whose event is not recorded
    awaiting_date: list[StatusRow]  # obligations waiting for an outside date
    failed: list[Notice] = field(default_factory=list)  # notices delivery gave up on

    @property
    def empty(self) -> bool:
        """Nothing waits for the office: no review, no failure, no missing event or date, nothing red."""
        return not (self.red or self.reviews or self.awaiting_event or self.awaiting_date or self.failed)


def office_digest(session: Session, rows: list[StatusRow]) -> OfficeDigest:
    lights: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(("red", "yellow", "green", "grey"), 0))
    for row in rows:
        lights[row.unit][row.light] += 1
    failed = list(session.scalars(select(Notice).where(Notice.status == "failed").order_by(Notice.id)))
    return OfficeDigest(
        lights=dict(lights),
        red=_overdue_first([r for r in rows if r.light == "red"]),
        reviews=sorted((r for r in rows if r.state == "submitted"), key=lambda r: (r.due or date.max, r.id)),
        awaiting_event=[r for r in rows if r.state == "awaiting_event"],
        awaiting_date=[r for r in rows if r.state == "awaiting_date"],
        failed=failed,
    )


@dataclass(frozen=True)
class BehindUnit:
    unit: str
    unit_name: str
    red: int
    days_overdue: int  # summed over its red items
    most_days_overdue: int


@dataclass(frozen=True)
class LeadersDigest:
    red: list[StatusRow]  # most overdue first
    behind: list[BehindUnit]  # most red items first, ties by total days overdue

    @property
    def empty(self) -> bool:
        return not self.red


def leaders_digest(rows: list[StatusRow], limit: int = BEHIND_UNITS) -> LeadersDigest:
    red = _overdue_first([r for r in rows if r.light == "red"])
    by_unit: dict[str, list[StatusRow]] = defaultdict(list)
    for row in red:
        by_unit[row.unit].append(row)
    behind = [BehindUnit(unit, items[0].unit_name, len(items), sum(r.days_overdue for r in items),
                         max(r.days_overdue for r in items)) for unit, items in by_unit.items()]
    behind.sort(key=lambda b: (-b.red, -b.days_overdue, b.unit))
    return LeadersDigest(red, behind[:limit])


# ── writing the rows ─────────────────────────────────────────────────────────────────────────────


def _rows(key, audience: str, unit_id, today: date, now: datetime) -> Select:  # SQL expressions
    """The columns of a digest notice row (NOTICE_COLUMNS' order), for insert_notices_ignoring_conflicts."""
    return select(key.label("dedupe_key"), literal(KIND).label("kind"), literal(0).label("level"),
                  literal(audience).label("audience"), literal(None, Integer).label("deliverable_id"),
                  literal(None, String).label("obligation_id"), unit_id.label("unit_id"),
                  literal(today, Date).label("owed_on"), literal(now, Notice.created_at.type).label("created_at"),
                  literal("pending").label("status"), literal(0).label("attempts"),
                  literal(None, String).label("plan_id"))


def _working(session: Session, today: date) -> bool:
    day = session.get(CalendarDay, today)
    if day is None:
        first, last = session.execute(select(func.min(CalendarDay.day), func.max(CalendarDay.day))).one()
        raise InvalidInput(f"{today} 超出了随工作方案载入的工作日历({first} 至 {last}):"
                           "请在 deadlines.yaml 的 calendar.years 下补充以后的年份,再运行 `duban load`")
    return day.working


def is_working_day(session_factory: sessionmaker[Session], day: date) -> bool:
    """Whether digests fall on ``day`` (the plan's calendar; a day outside it is refused)."""
    with read_session(session_factory) as session:
        return _working(session, day)


def write_digests(session_factory: sessionmaker[Session], *, now: datetime, today: date) -> dict[str, int]:
    """Write the digests owed on ``today`` (a local date) in one transaction; returns how many of each were new."""
    written = dict.fromkeys(DIGESTS, 0)
    with session_factory.begin() as session:
        if not _working(session, today):
            return written
        rows = status_rows(session, today=today)
        # One INSERT … SELECT over the units that have something to report, then one row each for the office
        # and the leaders when theirs is not empty.
        by_unit: dict[str, list[StatusRow]] = defaultdict(list)
        for row in rows:
            by_unit[row.unit].append(row)
        units = sorted(unit for unit, mine in by_unit.items() if not unit_digest(mine, unit, today).empty)
        if units:
            unit_key = literal(f"{KIND}:", String) + UnitRecord.id + literal(f":{iso_week(today)}", String)
            query = _rows(unit_key, "unit", UnitRecord.id, today, now).where(
                UnitRecord.id.in_(units), UnitRecord.retired.is_(False), true())
            written["unit"] = insert_notices_ignoring_conflicts(session, query)
        if not office_digest(session, rows).empty:
            query = _rows(literal(digest_key("office", today), String), "office", literal(None, String),
                          today, now).where(true())
            written["office"] = insert_notices_ignoring_conflicts(session, query)
        if not leaders_digest(rows).empty:
            query = _rows(literal(digest_key("leaders", today), String), LEADERS_AUDIENCE,
                          literal(None, String), today, now).where(true())
            written["leaders"] = insert_notices_ignoring_conflicts(session, query)
    return written


# ── the numbers: who is behind ───────────────────────────────────────────────────────────────────


def figures_behind(session: Session, today: date) -> list[dict]:
    """Regions red (a monthly report missing) or yellow (behind 序时进度) in ``today``'s plan year, worst first,
    for the office's and the leaders' digests; [] outside the plan's years or without monthly figures."""
    from responsibilities.errors import DomainError
    from responsibilities.figures.progress import numbers_for

    try:
        numbers = numbers_for(session, year=today.year, today=today)
    except DomainError:
        return []
    return [{"region": r.region_name, "light": r.light, "target": r.year.target, "actual": r.year.actual,
             "expected": round(r.year.expected), "done": r.year.done, "missing": list(r.year.months_missing)}
            for r in numbers.behind]
